using LLama.Native;
using Mesh.Inference.Models;
using Mesh.Inference.Models.Gguf;

namespace Mesh.Inference.Bench;

/// <summary>
/// Single-stream prefill and decode tokens/s of Mesh's CPU backend, and optionally of llama.cpp on the
/// same files with the same thread count in the same run, with the ratio and greedy agreement.
/// </summary>
internal static class SpeedBench
{
    /// <param name="only">When set, only the models whose name contains it (e.g. "Q4").</param>
    /// <param name="attentionBaseline">
    /// Instead of llama.cpp, the peer is Mesh with the per-token attention loop
    /// (<see cref="Backends.BackendOptions.PerTokenAttention"/>), interleaved the same way.
    /// </param>
    public static void Run(int threads, bool withLlamaCpp, int prefillTokens, int decodeTokens, string? only = null, bool attentionBaseline = false, bool mappedBaseline = false)
    {
        var all = new List<(string Name, Func<string> Path, bool F32)>
        {
            ("stories260K (llama2.c .bin)", () => BenchModels.Stories260KBin, true),
            ("stories260K (GGUF F32)", () => BenchModels.Stories260KGguf, true),
            ("TinyStories-656K (GGUF F32)", () => BenchModels.TinyStories656KGguf, true),
            ("synthetic 110M F32", () => BenchModels.Synthetic110M(GgmlType.F32), true),
            ("synthetic 110M Q8_0", () => BenchModels.Synthetic110M(GgmlType.Q8_0), false),
            ("synthetic 110M Q4_0 (llama.cpp-quantized)", () => BenchModels.Quantized110M(LLamaFtype.MOSTLY_Q4_0), false),
            ("synthetic 110M Q4_K_M (llama.cpp-quantized)", () => BenchModels.Quantized110M(LLamaFtype.MOSTLY_Q4_K_M), false),
        };
        var models = all.Where(m => only is null || m.Name.Contains(only, StringComparison.OrdinalIgnoreCase))
            .Select(m => (m.Name, Path: m.Path(), m.F32))
            .ToList();
        Console.WriteLine($"threads: {threads}, prompt: {prefillTokens} tokens, decode: {decodeTokens} tokens, best of {Repeats} runs after a warm-up, {Environment.ProcessorCount} logical cores, {System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture}");
        // A shared VM's memory bandwidth swings with its neighbours (45–82 GB/s read-only between two
        // runs minutes apart on one of them), so the wall is sampled before the models and again after
        // each, and the highest sample is the wall: a ceiling measured in the same run, never flattered.
        var copySamples = new List<double>();
        var readSamples = new List<double>();
        void SampleWall()
        {
            copySamples.Add(MemoryWall.CopyBandwidth(threads));
            readSamples.Add(MemoryWall.ReadBandwidth(threads));
        }

        if (withLlamaCpp)
        {
            SampleWall();
        }

        var wallRows = new List<(object[] Cells, long WeightBytes, double Ours, double Theirs, string Agreement)>();
        var baseline = attentionBaseline ? "per-token attention" : mappedBaseline ? $"weights mapped, not {MappedFile.Resolve(WeightMemory.Auto)}" : null;
        var table = baseline is not null
            ? new Table("model", $"prefill tok/s ({baseline})", "prefill tok/s", "ratio", $"decode tok/s ({baseline})", "decode tok/s", "ratio")
            : withLlamaCpp
            ? new Table("model", "Mesh prefill tok/s", "llama.cpp prefill tok/s", "ratio", "Mesh decode tok/s", "llama.cpp decode tok/s", "ratio", "weights MB/token", "Mesh / llama.cpp % of memory wall (Copy; read-only)", "greedy agreement (first 32)")
            : new Table("model", "prefill tok/s", "decode tok/s");
        foreach (var (name, path, f32) in models)
        {
            if (withLlamaCpp && path.EndsWith(".bin", StringComparison.Ordinal))
            {
                continue; // llama.cpp reads GGUF only
            }

            using var mesh = new MeshSubject(path, threads);
            var prompt = Prompt(mesh, prefillTokens);
            using ISpeedSubject? peer = attentionBaseline ? new MeshSubject(path, threads, perTokenAttention: true)
                : mappedBaseline ? new MeshSubject(path, threads, memory: WeightMemory.Mapped)
                : withLlamaCpp ? new LlamaCppSubject(path, threads, prompt.Count + decodeTokens + 8) : null;

            // Warm-up at full size (tiered JIT, page faults), then the best of several runs, the two
            // engines interleaved so that a burst of load elsewhere hits both alike.
            mesh.Run(prompt, decodeTokens);
            peer?.Run(prompt, decodeTokens);
            var ours = new List<SpeedRun>();
            var theirsRuns = new List<SpeedRun>();
            for (var run = 0; run < Repeats; run++)
            {
                ours.Add(mesh.Run(prompt, decodeTokens));
                if (peer is not null)
                {
                    theirsRuns.Add(peer.Run(prompt, decodeTokens));
                }
            }

            var best = Best(ours);
            if (peer is null)
            {
                table.Add(name, best.PrefillTokensPerSecond, best.DecodeTokensPerSecond);
                continue;
            }

            var theirs = Best(theirsRuns);
            if (baseline is not null)
            {
                table.Add(
                    name,
                    theirs.PrefillTokensPerSecond,
                    best.PrefillTokensPerSecond,
                    $"{best.PrefillTokensPerSecond / theirs.PrefillTokensPerSecond:F2}×",
                    theirs.DecodeTokensPerSecond,
                    best.DecodeTokensPerSecond,
                    $"{best.DecodeTokensPerSecond / theirs.DecodeTokensPerSecond:F2}×");
                continue;
            }

            var agreement = f32
                ? $"{best.GreedyTokens.Take(32).Zip(theirs.GreedyTokens).TakeWhile(p => p.First == p.Second).Count()}/32"
                : "n/a (quantized)";
            var weightBytes = MemoryWall.WeightBytesPerToken(mesh.Model.Weights);
            wallRows.Add((
                [
                    name,
                    best.PrefillTokensPerSecond,
                    theirs.PrefillTokensPerSecond,
                    $"{best.PrefillTokensPerSecond / theirs.PrefillTokensPerSecond:F2}×",
                    best.DecodeTokensPerSecond,
                    theirs.DecodeTokensPerSecond,
                    $"{best.DecodeTokensPerSecond / theirs.DecodeTokensPerSecond:F2}×",
                    $"{weightBytes / 1e6:F1}",
                ],
                weightBytes, best.DecodeTokensPerSecond, theirs.DecodeTokensPerSecond, agreement));
            SampleWall();
        }

        if (withLlamaCpp)
        {
            var wall = copySamples.Max();
            var read = readSamples.Max();
            Console.WriteLine(
                $"memory wall: STREAM Copy bandwidth {wall / 1e9:F1} GB/s with {threads} threads, the highest of {copySamples.Count} samples " +
                $"({string.Join(", ", copySamples.Select(b => $"{b / 1e9:F1}"))}: before the models and after each); % of wall = weight bytes per token × decode tok/s ÷ it; " +
                $"read-only bandwidth {read / 1e9:F1} GB/s, the highest of ({string.Join(", ", readSamples.Select(b => $"{b / 1e9:F1}"))}), in parentheses; a model small enough to stay in the caches (stories260K, TinyStories-656K) reads above either");
            foreach (var row in wallRows)
            {
                table.Add(
                    [
                        .. row.Cells,
                        $"{100 * row.WeightBytes * row.Ours / wall:F0}% / {100 * row.WeightBytes * row.Theirs / wall:F0}% (read-only: {100 * row.WeightBytes * row.Ours / read:F0}% / {100 * row.WeightBytes * row.Theirs / read:F0}%)",
                        row.Agreement,
                    ]);
            }
        }

        Console.WriteLine();
        table.Print();
    }

    private const int Repeats = 3;

    /// <summary>The best prefill and the best decode speed over the runs (the greedy tokens of the first).</summary>
    private static SpeedRun Best(List<SpeedRun> runs) =>
        new(runs.Max(r => r.PrefillTokensPerSecond), runs.Max(r => r.DecodeTokensPerSecond), runs[0].GreedyTokens);

    /// <summary>A prompt of exactly <paramref name="length"/> tokens of ordinary text.</summary>
    private static List<int> Prompt(MeshSubject mesh, int length)
    {
        var tokenizer = mesh.Model.Tokenizer;
        var text = string.Concat(Enumerable.Repeat("Once upon a time, there was a little girl named Lily. She loved to play outside in the park with her friends. ", 40));
        var ids = tokenizer.Encode(text, addBos: true);
        return [.. ids.Take(Math.Min(length, mesh.Model.Config.ContextLength / 2))];
    }
}
