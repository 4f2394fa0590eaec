using LLama.Native;
using Mesh.Inference.Backends.Cpu;
using Mesh.Inference.Models.Gguf;
using static Mesh.Inference.Bench.BenchStatistics;

namespace Mesh.Inference.Bench;

/// <summary>
/// Mesh decode tokens/s with the new quantized decode kernels against the ones they replace, on the
/// same files and threads in one process, the two interleaved run by run so that load from elsewhere
/// hits both alike: the AVX-VNNI kernels (vpdpbusd) against the AVX2 ones (maddubs/madd), or, with
/// <c>--baseline unpack</c>, the fused kernels (unpacking in registers) against unpack-to-scratch;
/// with <c>--baseline tiles</c>, prefill tokens/s with the int8 register tiles
/// (<see cref="CpuQuantMatMul.PrefillTiles"/>) against the one-row kernels.
/// Both must produce the same greedy tokens (the kernels are bit-identical).
/// </summary>
internal static class FusedDecodeBench
{
    public static int Run(int threads, int prefillTokens, int decodeTokens, int rounds, string? only, string baseline)
    {
        var all = new List<(string Name, Func<string> Path)>
        {
            ("synthetic 110M Q8_0", () => BenchModels.Synthetic110M(GgmlType.Q8_0)),
            ("synthetic 110M Q4_0 (llama.cpp-quantized)", () => BenchModels.Quantized110M(LLamaFtype.MOSTLY_Q4_0)),
            ("synthetic 110M Q4_K_M (llama.cpp-quantized)", () => BenchModels.Quantized110M(LLamaFtype.MOSTLY_Q4_K_M)),
        };
        var unpackBaseline = baseline == "unpack";
        var tilesBaseline = baseline == "tiles";
        if (!unpackBaseline && !CpuVnniQuantDot.IsSupported)
        {
            Console.Error.WriteLine("this CPU has no AVX-VNNI: both sides would run the AVX2 kernels");
            return 2;
        }

        var (baselineName, newName) = unpackBaseline ? ("unpack-to-scratch", "fused") : tilesBaseline ? ("one-row kernels", "int8 tiles") : ("AVX2 (maddubs)", "AVX-VNNI (vpdpbusd)");
        var measured = tilesBaseline ? "prefill" : "decode"; // the tiles serve batches: a prompt, not a decode step
        Console.WriteLine($"threads: {threads}, prompt: {prefillTokens} tokens, decode: {decodeTokens} tokens, {rounds} interleaved rounds after a warm-up (best and median), {Environment.ProcessorCount} logical cores, {System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture}");
        Console.WriteLine();
        var table = new Table("model", $"{baselineName} {measured} tok/s (best / median)", $"{newName} {measured} tok/s (best / median)", "ratio of best", "median of per-round ratios", "same greedy tokens");
        var failed = false;
        foreach (var (name, path) in all.Where(m => only is null || m.Name.Contains(only, StringComparison.OrdinalIgnoreCase)).Select(m => (m.Name, m.Path())))
        {
            using var mesh = new MeshSubject(path, threads);
            var prompt = Enumerable.Range(0, prefillTokens).Select(i => 1 + (i * 37 % 1000)).ToList();
            SpeedRun Once(bool fresh)
            {
                if (unpackBaseline)
                {
                    CpuQuantMatMul.FusedDecode = fresh;
                }
                else if (tilesBaseline)
                {
                    CpuQuantMatMul.PrefillTiles = fresh;
                }
                else
                {
                    CpuQuantMatMul.Vnni = fresh;
                }

                return mesh.Run(prompt, decodeTokens);
            }

            Once(false);
            Once(true);
            var before = new List<SpeedRun>();
            var after = new List<SpeedRun>();
            for (var round = 0; round < rounds; round++)
            {
                // Alternate which goes first, so neither always follows the other's cache state.
                if (round % 2 == 0)
                {
                    before.Add(Once(false));
                    after.Add(Once(true));
                }
                else
                {
                    after.Add(Once(true));
                    before.Add(Once(false));
                }
            }

            CpuQuantMatMul.FusedDecode = true;
            CpuQuantMatMul.Vnni = true;
            CpuQuantMatMul.PrefillTiles = true;
            var same = before.Concat(after).All(r => r.GreedyTokens.SequenceEqual(before[0].GreedyTokens));
            failed |= !same;
            double Speed(SpeedRun run) => tilesBaseline ? run.PrefillTokensPerSecond : run.DecodeTokensPerSecond;
            double Best(List<SpeedRun> runs) => runs.Max(Speed);

            var ratios = before.Zip(after, (b, a) => Speed(a) / Speed(b));
            table.Add(
                name,
                $"{Best(before):F1} / {Median(before.Select(Speed)):F1}",
                $"{Best(after):F1} / {Median(after.Select(Speed)):F1}",
                $"{Best(after) / Best(before):F2}×",
                $"{Median(ratios):F2}×",
                same ? "yes" : "NO");
        }

        table.Print();
        return failed ? 1 : 0;
    }
}
