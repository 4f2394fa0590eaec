using Mesh.Inference.V1;
using static Mesh.Inference.Bench.BenchStatistics;

namespace Mesh.Inference.Bench;

/// <summary>
/// Aggregate tokens/s through gRPC with continuous batching, the CPU backend's regions on its worker
/// team vs on the thread pool, the two arms alternating round by round in one process.
/// </summary>
internal static class ParallelismThroughputBench
{
    public static async Task RunAsync(string modelPath, int threads, int streams, int maxTokens, int rounds)
    {
        Console.WriteLine($"model: {Path.GetFileName(modelPath)}, threads: {threads}, {streams} streams, {maxTokens} tokens per request, {rounds} rounds per arm alternating, load average {LoadAverage()}");
        Console.WriteLine();
        var results = new Dictionary<string, List<ThroughputBench.Result>> { ["WorkerTeam"] = [], ["ThreadPool"] = [] };
        for (var round = 0; round < rounds; round++)
        {
            foreach (var arm in round % 2 == 0 ? new[] { "WorkerTeam", "ThreadPool" } : ["ThreadPool", "WorkerTeam"])
            {
                await using var host = await ThroughputBench.StartAsync(modelPath, threads, 64, arm);
                var client = new InferenceService.InferenceServiceClient(host.Channel);
                await ThroughputBench.OneRequest(client, 4); // warm-up
                results[arm].Add(await ThroughputBench.Measure(client, streams, maxTokens));
            }
        }

        var table = new Table("parallel regions", "median tokens/s", "best tokens/s", "median p50 TPOT ms", "team / pool (median)");
        var pool = Median(results["ThreadPool"].Select(r => r.TokensPerSecond));
        foreach (var (arm, runs) in results)
        {
            var median = Median(runs.Select(r => r.TokensPerSecond));
            table.Add(arm, median, runs.Max(r => r.TokensPerSecond), Median(runs.Select(r => r.Tpot(0.5))), arm == "WorkerTeam" ? $"{median / pool:F2}×" : "");
        }

        table.Print();
        Console.WriteLine($"load average after: {LoadAverage()}");
    }

}
