using System.Diagnostics;
using Grpc.Net.Client;
using Mesh.Guard.V1;
using Mesh.ServiceDefaults;
using Microsoft.AspNetCore.Builder;

namespace Mesh.Guard.Bench;

/// <summary>
/// Latency (p50/p99) and throughput of Guard's Check over real gRPC on loopback, on 4 KB texts,
/// with the shipped default policy. The baseline, measured in the same run, is the same Check
/// against a policy with a single length rule: the cost of gRPC, protobuf and the service shell,
/// so each row's ratio says what the detectors themselves add.
/// The input-stage rows send first-seen texts whose sentences all differ, so that no sentence cache
/// or de-duplication shortens them. Then the input stage now vs the embedder Guard had before, in
/// the same run (<see cref="InputStageBench"/>; --no-compare skips it), and CheckStream of 100 to
/// 800 chunks (<see cref="StreamBench"/>; --no-stream skips it).
/// Usage: Mesh.Guard.Bench [--requests N] [--embedding-requests N] [--compare-requests N] [--concurrency N] [--chars N] [--stream-repeats N] [--no-compare] [--no-stream] [--Guard:Option=value ...]
/// </summary>
internal static class Program
{
    private static async Task<int> Main(string[] args)
    {
        var requests = Arg(args, "--requests", 400);
        var embeddingRequests = Arg(args, "--embedding-requests", 40);
        var concurrency = Arg(args, "--concurrency", Environment.ProcessorCount);
        var chars = Arg(args, "--chars", 4096);

        // The shipped policy file plus one bench-only policy, the baseline.
        var shipped = await File.ReadAllTextAsync(Path.Combine(AppContext.BaseDirectory, "policies.yaml"));
        var policyFile = Path.Combine(Path.GetTempPath(), $"guard-bench-{Environment.ProcessId}.yaml");
        await File.WriteAllTextAsync(policyFile, shipped.TrimEnd() + """

              bench-baseline:
                description: Benchmark baseline, one length rule.
                rules:
                  - name: length
                    detector: length
                    action: block
                    max_chars: 1000000

            """);
        try
        {
            // Any --Guard:* argument is passed to the host (e.g. --Guard:EmbeddingThreads=2).
            async Task<WebApplication> StartHost(params string[] extra)
            {
                var host = GuardHost.CreateApp([
                    "--Mesh:Endpoints:Grpc=http://127.0.0.1:0", "--Mesh:Endpoints:Http=http://127.0.0.1:0",
                    $"--Guard:PolicyFile={policyFile}", "--Guard:WatchPolicyFile=false", "--Logging:LogLevel:Default=Warning",
                    .. args.Where(a => a.StartsWith("--Guard:", StringComparison.Ordinal)), .. extra,
                ]);
                await host.StartAsync();
                return host;
            }
            await using var app = await StartHost();
            using var channel = GrpcChannel.ForAddress(app.GetGrpcAddress());
            var client = new GuardService.GuardServiceClient(channel);
            var texts = BenchTexts.Create(64, chars);
            // Input-stage rows: every request a text never seen before (warm-up included).
            var firstSeen = BenchTexts.CreateDistinct(embeddingRequests * 2 + 4, chars);
            Console.Error.WriteLine($"Guard bench: {texts.Length} texts of {chars} chars, {Environment.ProcessorCount} cores, concurrency {concurrency}");

            var rows = new List<Row>
            {
                await Measure(client, texts, "baseline (length rule only)", "bench-baseline", Stage.Input, requests, 1),
                await Measure(client, texts, "default, output stage (secrets, PII)", "default", Stage.Output, requests, 1),
                await Measure(client, texts, "default, input stage (+ injection rules and MiniLM), first-seen texts", "default", Stage.Input, embeddingRequests, 1, firstSeen),
                await Measure(client, texts, $"baseline, {concurrency} concurrent", "bench-baseline", Stage.Input, requests, concurrency),
                await Measure(client, texts, $"default output, {concurrency} concurrent", "default", Stage.Output, requests, concurrency),
                await Measure(client, texts, $"default input, {concurrency} concurrent, first-seen texts", "default", Stage.Input, embeddingRequests, concurrency, firstSeen[embeddingRequests..]),
            };

            Console.WriteLine();
            Console.WriteLine($"Check over gRPC on loopback, {chars}-char texts, {Environment.ProcessorCount} cores");
            Console.WriteLine();
            Console.WriteLine("| scenario | requests | p50 ms | p99 ms | checks/s | p50 vs baseline |");
            Console.WriteLine("|---|---:|---:|---:|---:|---:|");
            foreach (var r in rows)
            {
                var baseline = r.Concurrency == 1 ? rows[0] : rows[3];
                Console.WriteLine($"| {r.Name} | {r.Requests} | {r.P50:F2} | {r.P99:F2} | {r.Throughput:F1} | {r.P50 / baseline.P50:F1}x |");
            }
            if (!args.Contains("--no-compare"))
            {
                // The embedder Guard had before this change, as it was configured, in the same process.
                await using var before = await StartHost("--Guard:Embedder=SentenceEncoder", "--Guard:SentenceCacheEntries=0");
                using var beforeChannel = GrpcChannel.ForAddress(before.GetGrpcAddress());
                await InputStageBench.Run(client, new GuardService.GuardServiceClient(beforeChannel), Arg(args, "--compare-requests", 20), chars);
                await before.StopAsync();
            }
            if (!args.Contains("--no-stream"))
            {
                await StreamBench.Run(client, Arg(args, "--stream-repeats", 5), [100, 200, 400, 800]);
            }
            await app.StopAsync();
            return 0;
        }
        finally
        {
            File.Delete(policyFile);
        }
    }

    private sealed record Row(string Name, int Requests, int Concurrency, double P50, double P99, double Throughput);

    private static async Task<Row> Measure(GuardService.GuardServiceClient client, string[] texts, string name, string policy, Stage stage, int requests, int concurrency, string[]? warmUpAndMeasured = null)
    {
        // Warm up: tiered JIT, compiled regexes, the connection, the first embedding batches. With
        // warmUpAndMeasured, the warm-up sends its last texts and the measurement the others.
        var warmUp = Math.Max(2, requests / 4);
        if (warmUpAndMeasured is not null)
        {
            texts = warmUpAndMeasured[..^warmUp];
        }
        for (var i = 0; i < warmUp; i++)
        {
            var text = warmUpAndMeasured is null ? texts[i % texts.Length] : warmUpAndMeasured[^(i + 1)];
            await client.CheckAsync(new CheckRequest { Text = text, Policy = policy, Stage = stage });
        }
        var latencies = new double[requests];
        var next = -1;
        var done = 0;
        var wall = Stopwatch.StartNew();
        var workers = Enumerable.Range(0, concurrency).Select(async _ =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < requests)
            {
                var started = Stopwatch.GetTimestamp();
                var response = await client.CheckAsync(new CheckRequest { Text = texts[i % texts.Length], Policy = policy, Stage = stage });
                latencies[i] = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
                GC.KeepAlive(response);
                var n = Interlocked.Increment(ref done);
                if (n % Math.Max(1, requests / 5) == 0)
                {
                    Console.Error.WriteLine($"  {name}: {n}/{requests}");
                }
            }
        }).ToArray();
        await Task.WhenAll(workers);
        var seconds = wall.Elapsed.TotalSeconds;
        Array.Sort(latencies);
        return new Row(name, requests, concurrency, Percentile(latencies, 0.50), Percentile(latencies, 0.99), requests / seconds);
    }

    /// <summary>The p-quantile of sorted values, interpolated linearly.</summary>
    internal static double Percentile(double[] sorted, double p)
    {
        var rank = p * (sorted.Length - 1);
        var lo = (int)Math.Floor(rank);
        var hi = (int)Math.Ceiling(rank);
        return sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - lo);
    }

    private static int Arg(string[] args, string name, int fallback)
    {
        var i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length && int.TryParse(args[i + 1], out var v) && v > 0 ? v : fallback;
    }
}
