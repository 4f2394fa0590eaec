using Mesh.Inference.Backends;
using Mesh.Inference.Models.Gguf;
using static Mesh.Inference.Bench.BenchStatistics;

namespace Mesh.Inference.Bench;

/// <summary>
/// Single-stream prefill and decode tokens/s of the CPU backend with its parallel regions on the
/// persistent worker team and on the .NET thread pool (<see cref="CpuParallelism"/>), the two arms
/// interleaved run by run in one process so that load elsewhere on the machine hits both alike.
/// </summary>
internal static class ParallelismBench
{
    public static void Run(int threads, int prefillTokens, int decodeTokens, int rounds, string? only)
    {
        var all = new List<(string Name, Func<string> Path)>
        {
            ("stories260K (GGUF F32)", () => BenchModels.Stories260KGguf),
            ("synthetic 110M F32", () => BenchModels.Synthetic110M(GgmlType.F32)),
            ("synthetic 110M Q8_0", () => BenchModels.Synthetic110M(GgmlType.Q8_0)),
        };
        var models = all.Where(m => only is null || m.Name.Contains(only, StringComparison.OrdinalIgnoreCase)).Select(m => (m.Name, Path: m.Path())).ToList();
        Console.WriteLine($"threads: {threads}, prompt: {prefillTokens} tokens, decode: {decodeTokens} tokens, {rounds} interleaved rounds after a warm-up (median, best), {Environment.ProcessorCount} logical cores, load average {LoadAverage()}");
        Console.WriteLine();
        var table = new Table("model", "team prefill tok/s", "pool prefill tok/s", "prefill ratio (median)", "team decode tok/s", "pool decode tok/s", "decode ratio (median)", "decode ratio (best)");
        foreach (var (name, path) in models)
        {
            using var team = new MeshSubject(path, threads, parallelism: CpuParallelism.WorkerTeam);
            using var pool = new MeshSubject(path, threads, parallelism: CpuParallelism.ThreadPool);
            var prompt = Prompt(team, prefillTokens);
            team.Run(prompt, decodeTokens);
            pool.Run(prompt, decodeTokens);
            var teamRuns = new List<SpeedRun>();
            var poolRuns = new List<SpeedRun>();
            for (var round = 0; round < rounds; round++)
            {
                // Alternate which arm goes first, so neither always follows the other's cache state.
                if (round % 2 == 0)
                {
                    teamRuns.Add(team.Run(prompt, decodeTokens));
                    poolRuns.Add(pool.Run(prompt, decodeTokens));
                }
                else
                {
                    poolRuns.Add(pool.Run(prompt, decodeTokens));
                    teamRuns.Add(team.Run(prompt, decodeTokens));
                }
            }

            if (!teamRuns[0].GreedyTokens.SequenceEqual(poolRuns[0].GreedyTokens))
            {
                throw new InvalidOperationException($"{name}: the worker team and the thread pool decoded different tokens");
            }

            var (teamPrefill, poolPrefill) = (Median(teamRuns, r => r.PrefillTokensPerSecond), Median(poolRuns, r => r.PrefillTokensPerSecond));
            var (teamDecode, poolDecode) = (Median(teamRuns, r => r.DecodeTokensPerSecond), Median(poolRuns, r => r.DecodeTokensPerSecond));
            table.Add(
                name,
                teamPrefill,
                poolPrefill,
                $"{teamPrefill / poolPrefill:F2}×",
                teamDecode,
                poolDecode,
                $"{teamDecode / poolDecode:F2}×",
                $"{teamRuns.Max(r => r.DecodeTokensPerSecond) / poolRuns.Max(r => r.DecodeTokensPerSecond):F2}×");
        }

        table.Print();
        Console.WriteLine($"load average after: {LoadAverage()}");
    }

    private static double Median(List<SpeedRun> runs, Func<SpeedRun, double> value) => BenchStatistics.Median(runs.Select(value));

    /// <summary>A prompt of <paramref name="length"/> tokens of ordinary text (at most half the context).</summary>
    private static List<int> Prompt(MeshSubject mesh, int length)
    {
        var text = string.Concat(Enumerable.Repeat("Once upon a time, there was a little girl named Lily. She loved to play outside in the park with her friends. ", 40));
        var ids = mesh.Model.Tokenizer.Encode(text, addBos: true);
        return [.. ids.Take(Math.Min(length, mesh.Model.Config.ContextLength / 2))];
    }
}
