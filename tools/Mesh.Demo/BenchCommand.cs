using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using Grpc.Core;
using Grpc.Net.Client;
using Mesh.Assistant.V1;
using Mesh.Demo.LoadTest;
using Mesh.Inference.V1;
using ChatMessage = Mesh.Assistant.V1.ChatMessage;
using Role = Mesh.Assistant.V1.Role;

namespace Mesh.Demo;

/// <summary>
/// The assistant pipeline's own overhead under concurrent users: each user asks questions from a
/// fixed set in turn (so a question repeats, as popular questions do, and the input guard's cache is
/// used), with one answer token, and the stage timings of every Done are collected. Overhead =
/// input guard + retrieval + prompt assembly + output guard; generation is reported apart.
/// </summary>
internal static class BenchCommand
{
    public static readonly IReadOnlySet<string> Flags = new HashSet<string>();

    private static readonly string[] Questions =
    [
        "How many days do I have to return running shoes?",
        "Is return shipping free?",
        "Which tents do you have for backpacking?",
        "Do you ship to Canada?",
        "Is there a sale on winter jackets?",
        "How do I exchange a jacket for another size?",
        "Which headphones are in stock?",
        "When will I get my refund?",
    ];

    public static async Task<int> RunAsync(Options options)
    {
        var users = options.Int("users", 4);
        var duration = TimeSpan.FromSeconds(options.Int("seconds", 20));
        var warmup = TimeSpan.FromSeconds(options.Int("warmup-seconds", 3));
        using var channel = GrpcChannel.ForAddress(options.Gateway);
        var client = new AssistantService.AssistantServiceClient(channel);
        var key = new Metadata { { "authorization", $"Bearer {options.ApiKey}" } };
        var samples = new ConcurrentBag<StageTimings>();
        var loadAtStart = LoadAverage();
        var pids = options.Get("pids") ?? Path.Combine(Environment.GetEnvironmentVariable("MESH_STATE") ?? ".mesh", "pids");
        var metrics = new Uri(new Uri(options.HttpGateway), "/metrics").ToString();
        // The services' CPU with no calls, taken off the per-answer CPU below.
        var idleStart = await BenchAccounting.TakeAsync(pids, metrics);
        await Task.Delay(TimeSpan.FromSeconds(options.Int("idle-seconds", 3)));
        var idleEnd = await BenchAccounting.TakeAsync(pids, metrics);
        var clock = Stopwatch.StartNew();
        var end = warmup + duration;
        var atWarmupEnd = Task.Delay(warmup).ContinueWith(_ => BenchAccounting.TakeAsync(pids, metrics), TaskScheduler.Default).Unwrap();
        await Task.WhenAll(Enumerable.Range(0, users).Select(user => Task.Run(async () =>
        {
            for (var i = user; clock.Elapsed < end; i++)
            {
                var request = new AskRequest
                {
                    Model = options.Require("model"),
                    Collection = options.Get("collection") ?? "demo",
                    TopK = 3,
                    MaxTokens = 1,
                    Messages = { new ChatMessage { Role = Role.User, Content = Questions[i % Questions.Length] } },
                    Sampling = new SamplingParams { Temperature = 0 },
                };
                using var call = client.Ask(request, key);
                await foreach (var e in call.ResponseStream.ReadAllAsync())
                {
                    if (e.EventCase == AskResponse.EventOneofCase.Done && clock.Elapsed > warmup)
                    {
                        samples.Add(e.Done.Timings);
                    }
                }
            }
        })));

        var all = samples.ToArray();
        var accounting = await BenchAccounting.TakeAsync(pids, metrics);
        Console.WriteLine($"{users} users, {duration.TotalSeconds:F0} s after {warmup.TotalSeconds:F0} s warm-up, {all.Length} answers ({all.Length / duration.TotalSeconds:F1}/s), {Environment.ProcessorCount} logical CPUs");
        // The machine is shared: the numbers mean little without the load they were taken under.
        Console.WriteLine($"load average (1/5/15 min) at start: {loadAtStart}; at end: {LoadAverage()}");
        Console.WriteLine("| stage | p50 ms | p99 ms |");
        Console.WriteLine("|---|---:|---:|");
        Row("input guard", all.Select(t => t.InputGuardMs));
        Row("retrieval", all.Select(t => t.RetrievalMs));
        Row("prompt assembly", all.Select(t => t.PromptMs));
        Row("output guard", all.Select(t => t.OutputGuardMs));
        Row("**overhead** (the four above)", all.Select(t => t.InputGuardMs + t.RetrievalMs + t.PromptMs + t.OutputGuardMs));
        Row("generation (1 token)", all.Select(t => t.GenerationMs));
        Row("whole call", all.Select(t => t.TotalMs));
        accounting.Print(await atWarmupEnd, all.Length, idleStart, idleEnd);
        return 0;
    }

    /// <summary>The first three fields of /proc/loadavg, or "n/a" where there is none.</summary>
    private static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "n/a";

    private static void Row(string name, IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {name} | {LoadReport.Percentile(sorted, 0.50):F1} | {LoadReport.Percentile(sorted, 0.99):F1} |"));
    }
}
