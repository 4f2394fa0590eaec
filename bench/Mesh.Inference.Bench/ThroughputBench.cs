using System.Diagnostics;
using Grpc.Core;
using Grpc.Net.Client;
using Mesh.Inference.Hosting;
using Mesh.Inference.V1;
using Mesh.ServiceDefaults;
using Microsoft.Extensions.DependencyInjection;

namespace Mesh.Inference.Bench;

/// <summary>
/// Aggregate generated tokens/s and TTFT/TPOT percentiles through the real gRPC service at several
/// concurrency levels, with continuous batching on and with one-at-a-time scheduling. Engine steps
/// counts the forward passes a measurement took: with batching, N streams of T tokens whose prompts
/// all fit the token budget take T steps when every prompt is prefilled in the first one; more mean
/// prompts arrived after a step began (or were chunked), and their prefill rode in a later step with
/// the others' decodes, a step that the early streams' TPOT includes.
/// </summary>
internal static class ThroughputBench
{
    public static async Task RunAsync(string modelPath, int threads, int[] concurrency, int maxTokens, bool batchingOnly = false)
    {
        Console.WriteLine($"model: {Path.GetFileName(modelPath)}, threads: {threads}, {maxTokens} tokens per request, one request per stream");
        Console.WriteLine();
        var table = new Table("streams", "scheduling", "tokens/s", "p50 TTFT ms", "p99 TTFT ms", "p50 TPOT ms", "p99 TPOT ms", "engine steps", "batching / one-at-a-time");
        foreach (var streams in concurrency)
        {
            var results = new Dictionary<string, Result>();
            var steps = new Dictionary<string, long>();
            foreach (var (label, maxRunning) in new[] { ("one-at-a-time", 1), ("batching", 64) })
            {
                if (batchingOnly && maxRunning == 1)
                {
                    continue; // profiling the batched step alone
                }

                await using var host = await StartAsync(modelPath, threads, maxRunning);
                var client = new InferenceService.InferenceServiceClient(host.Channel);
                await OneRequest(client, 4); // warm-up
                var before = host.Steps;
                results[label] = await Measure(client, streams, maxTokens);
                steps[label] = host.Steps - before;
            }

            var ratio = batchingOnly ? "" : $"{results["batching"].TokensPerSecond / results["one-at-a-time"].TokensPerSecond:F2}×";
            foreach (var (label, r) in results)
            {
                table.Add(streams, label, r.TokensPerSecond, r.Ttft(0.5), r.Ttft(0.99), r.Tpot(0.5), r.Tpot(0.99), steps[label], label == "batching" ? ratio : "");
            }
        }

        table.Print();
    }

    internal static async Task<Result> Measure(InferenceService.InferenceServiceClient client, int streams, int maxTokens)
    {
        var clock = Stopwatch.StartNew();
        var runs = await Task.WhenAll(Enumerable.Range(0, streams).Select(i => OneRequest(client, maxTokens, i)));
        return new Result(runs.Sum(r => r.Tokens) / clock.Elapsed.TotalSeconds, [.. runs.Select(r => r.Ttft)], [.. runs.Select(r => r.Tpot)]);
    }

    internal static async Task<(int Tokens, double Ttft, double Tpot)> OneRequest(InferenceService.InferenceServiceClient client, int maxTokens, int salt = 0)
    {
        var request = new GenerateRequest
        {
            Model = "bench",
            Prompt = $"Request {salt}: once upon a time, there was a little girl named Lily. She loved to play outside.",
            MaxTokens = maxTokens,
            IgnoreEos = true,
            Sampling = new SamplingParams { Temperature = 0.8f, Seed = (ulong)salt },
        };
        var start = Stopwatch.GetTimestamp();
        long first = 0, last = 0;
        var tokens = 0;
        using var call = client.Generate(request);
        await foreach (var message in call.ResponseStream.ReadAllAsync())
        {
            if (message.TokenIds.Count > 0)
            {
                last = Stopwatch.GetTimestamp();
                first = first == 0 ? last : first;
                tokens += message.TokenIds.Count;
            }
        }

        var ttft = Stopwatch.GetElapsedTime(start, first).TotalMilliseconds;
        var tpot = tokens > 1 ? Stopwatch.GetElapsedTime(first, last).TotalMilliseconds / (tokens - 1) : 0;
        return (tokens, ttft, tpot);
    }

    internal static async Task<Host> StartAsync(string modelPath, int threads, int maxRunning, string cpuParallelism = "WorkerTeam")
    {
        var app = InferenceHost.CreateApp(
        [
            "--Mesh:Endpoints:Grpc=http://127.0.0.1:0",
            "--Inference:Device=cpu",
            $"--Inference:Threads={threads}",
            $"--Inference:CpuParallelism={cpuParallelism}",
            "--Inference:Models:0:Id=bench",
            $"--Inference:Models:0:Path={modelPath}",
            $"--Inference:Engine:MaxRunningSequences={maxRunning}",
            "--Inference:Engine:MaxWaitingRequests=1024",
            "--Inference:KvCacheMb=1024",
            "--Logging:LogLevel:Default=Warning",
        ]);
        await app.StartAsync();
        return new Host(app, GrpcChannel.ForAddress(app.GetGrpcAddress()));
    }

    internal sealed record Result(double TokensPerSecond, double[] TtftMs, double[] TpotMs)
    {
        public double Ttft(double p) => Percentile(TtftMs, p);

        public double Tpot(double p) => Percentile(TpotMs, p);

        private static double Percentile(double[] values, double p)
        {
            var sorted = values.Order().ToArray();
            return sorted[(int)Math.Min(sorted.Length - 1, Math.Ceiling(p * sorted.Length) - 1)];
        }
    }

    internal sealed class Host(Microsoft.AspNetCore.Builder.WebApplication app, GrpcChannel channel) : IAsyncDisposable
    {
        public GrpcChannel Channel => channel;

        /// <summary>Engine steps run so far (EngineStatistics.Steps of the one model).</summary>
        public long Steps => app.Services.GetRequiredService<ModelRegistry>().Engines.Single().Statistics.Steps;

        public async ValueTask DisposeAsync()
        {
            channel.Dispose();
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }
}
