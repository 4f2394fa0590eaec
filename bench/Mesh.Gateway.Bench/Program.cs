using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using Grpc.Core;
using Grpc.Net.Client;
using Mesh.Gateway.Authentication;
using Mesh.Inference;
using Mesh.Inference.V1;
using Mesh.ServiceDefaults;

namespace Mesh.Gateway.Bench;

/// <summary>
/// Calls per second and latency percentiles of the same calls made directly to an Inference host and
/// through the gateway in front of it, in one run on one machine, printed as a table with ratios.
/// A third target is a bare YARP forwarder in front of the same host (no authentication, limits,
/// inspection, metering, access log or telemetry): the floor that the gateway's own work sits on.
/// Direct, bare-YARP and gateway runs alternate in rounds, so a change in machine load hits all alike.
/// Usage: <c>dotnet run -c Release --project bench/Mesh.Gateway.Bench -- [seconds per round] [concurrency,...] [rounds] [case name filter]</c>.
/// </summary>
internal static class Program
{
    private static async Task<int> Main(string[] args)
    {
        var seconds = args.Length > 0 ? double.Parse(args[0], CultureInfo.InvariantCulture) : 5;
        var concurrencies = args.Length > 1 ? args[1].Split(',').Select(int.Parse).ToArray() : [1, 16];
        var rounds = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 3;
        var only = args.Length > 3 ? args[3] : "";
        var model = Path.GetFullPath(Path.Combine(RepoRoot(), "..", "shared", "models", "stories260K", "stories260K.gguf"));

        await using var inference = InferenceHost.CreateApp(
        [
            "--Mesh:Endpoints:Grpc=http://127.0.0.1:0", "--Mesh:Endpoints:Http=http://127.0.0.1:0",
            "--Logging:LogLevel:Default=Warning",
            "--Inference:Models:0:Id=stories260K", $"--Inference:Models:0:Path={model}",
        ]);
        await inference.StartAsync();

        var key = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
        await using var gateway = GatewayHost.CreateApp(
        [
            "--Mesh:Endpoints:Grpc=http://127.0.0.1:0", "--Mesh:Endpoints:Http=http://127.0.0.1:0",
            "--Logging:LogLevel:Default=Warning",
            $"--ReverseProxy:Clusters:inference:Destinations:r1:Address={inference.GetGrpcAddress()}",
            // Only Inference runs here: stop probing the other clusters' default addresses.
            "--ReverseProxy:Clusters:retrieval:HealthCheck:Active:Enabled=false",
            "--ReverseProxy:Clusters:guard:HealthCheck:Active:Enabled=false",
            $"--Gateway:ApiKeys:bench:Sha256={ApiKeyStore.Hash(key)}",
            "--Gateway:ApiKeys:bench:Tenant=bench",
            "--Gateway:ApiKeys:bench:Models:0=*",
            "--Gateway:ApiKeys:bench:RequestsPerSecond=1000000",
            "--Gateway:ApiKeys:bench:TokensPerMinute=1000000000",
            "--Gateway:ApiKeys:bench:MaxConcurrentStreams=1000",
            "--Gateway:TenantSigningKey=bench-secret",
        ]);
        await gateway.StartAsync();

        await using var bareYarp = BareYarp.CreateApp(inference.GetGrpcAddress());
        await bareYarp.StartAsync();

        using var direct = GrpcChannel.ForAddress(inference.GetGrpcAddress());
        using var viaYarp = GrpcChannel.ForAddress(bareYarp.GetGrpcAddress());
        using var viaGateway = GrpcChannel.ForAddress(gateway.GetGrpcAddress());
        var targets = new (string Name, InferenceService.InferenceServiceClient Client, Metadata? Headers)[]
        {
            ("direct", new(direct), null),
            ("yarp", new(viaYarp), null),
            ("gateway", new(viaGateway), new Metadata { { "authorization", $"Bearer {key}" } }),
        };
        // MESH_BENCH_TARGET=gateway (say) runs that target alone: for tracing syscalls or profiling one hop.
        if (Environment.GetEnvironmentVariable("MESH_BENCH_TARGET") is { Length: > 0 } alone)
        {
            targets = targets.Where(t => t.Name == alone).ToArray();
        }

        var tokenize = new TokenizeRequest { Model = "stories260K", Text = "Once upon a time, there was a little girl named Lily." };
        var generate = new GenerateRequest
        {
            Model = "stories260K",
            Prompt = "Once upon a time",
            MaxTokens = 16,
            IgnoreEos = true,
            Sampling = new SamplingParams { Temperature = 0 },
        };
        var cases = new (string Name, Func<InferenceService.InferenceServiceClient, Metadata?, Task> Call)[]
        {
            ("unary Tokenize", async (c, h) => await c.TokenizeAsync(tokenize, h)),
            ("stream Generate 16 tok", async (c, h) =>
            {
                using var call = c.Generate(generate, h);
                await foreach (var _ in call.ResponseStream.ReadAllAsync())
                {
                }
            }),
        };

        Console.WriteLine($"Mesh gateway benchmark: {Environment.ProcessorCount} logical CPUs, {System.Runtime.InteropServices.RuntimeInformation.OSDescription}, .NET {Environment.Version}");
        Console.WriteLine($"{rounds} rounds of {seconds:F0} s per target and case, direct, bare YARP and gateway alternating, after a 1 s warm-up each; client, proxies and Inference in one process on loopback.");
        Console.WriteLine($"load average at start: {LoadAverage()}");
        Console.WriteLine();
        Console.WriteLine("| call | concurrency | direct calls/s | bare YARP calls/s | gateway calls/s | YARP ratio | gateway ratio | direct p50 ms | YARP p50 ms | gateway p50 ms | gateway p50 added ms | direct p99 ms | gateway p99 ms | direct CPU µs/call | YARP CPU µs/call | gateway CPU µs/call |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var (caseName, call) in cases.Where(c => c.Name.Contains(only, StringComparison.OrdinalIgnoreCase)))
        {
            foreach (var concurrency in concurrencies)
            {
                var samples = targets.ToDictionary(t => t.Name, _ => new Samples());
                foreach (var (targetName, client, headers) in targets)
                {
                    await RunAsync(() => call(client, headers), concurrency, TimeSpan.FromSeconds(1), new Samples());
                }

                for (var round = 0; round < rounds; round++)
                {
                    foreach (var (targetName, client, headers) in targets)
                    {
                        await RunAsync(() => call(client, headers), concurrency, TimeSpan.FromSeconds(seconds), samples[targetName]);
                    }
                }

                if (targets.Length < 3)
                {
                    foreach (var (name, s) in samples)
                    {
                        var r = s.Summarize();
                        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {caseName} | {concurrency} | {name} | {r.CallsPerSecond:F0} calls/s ({s.Latencies.Count} calls) | p50 {r.P50:F3} ms | p99 {r.P99:F3} ms | {r.CpuMicrosecondsPerCall:F0} CPU µs/call |"));
                    }

                    continue;
                }

                var (d, y, g) = (samples["direct"].Summarize(), samples["yarp"].Summarize(), samples["gateway"].Summarize());
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"| {caseName} | {concurrency} | {d.CallsPerSecond:F0} | {y.CallsPerSecond:F0} | {g.CallsPerSecond:F0} | {y.CallsPerSecond / d.CallsPerSecond:F2} | {g.CallsPerSecond / d.CallsPerSecond:F2} | {d.P50:F3} | {y.P50:F3} | {g.P50:F3} | {g.P50 - d.P50:F3} | {d.P99:F3} | {g.P99:F3} | {d.CpuMicrosecondsPerCall:F0} | {y.CpuMicrosecondsPerCall:F0} | {g.CpuMicrosecondsPerCall:F0} |"));
            }
        }

        Console.WriteLine();
        Console.WriteLine($"load average at end: {LoadAverage()}");
        return 0;
    }

    private static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Trim() : "n/a";

    private sealed record Result(double CallsPerSecond, double P50, double P99, double CpuMicrosecondsPerCall);

    /// <summary>Latencies and running time collected over the rounds of one target.</summary>
    private sealed class Samples
    {
        public List<double> Latencies { get; } = [];

        public double Seconds { get; set; }

        /// <summary>CPU the whole process (client, proxy and service) used while this target ran.</summary>
        public double CpuSeconds { get; set; }

        public Result Summarize()
        {
            var sorted = Latencies.Order().ToArray();
            return new Result(sorted.Length / Seconds, Percentile(sorted, 0.50), Percentile(sorted, 0.99), CpuSeconds * 1e6 / sorted.Length);
        }
    }

    /// <summary>Runs <paramref name="concurrency"/> callers back to back for <paramref name="duration"/>; every call must succeed.</summary>
    private static async Task RunAsync(Func<Task> call, int concurrency, TimeSpan duration, Samples samples)
    {
        var latencies = new List<double>[concurrency];
        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(async worker =>
        {
            var mine = latencies[worker] = new List<double>(4096);
            while (clock.Elapsed < duration)
            {
                var started = Stopwatch.GetTimestamp();
                await call();
                mine.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            }
        }));
        samples.Seconds += clock.Elapsed.TotalSeconds;
        // CPU per call, not calls/s, is what survives other people's load on a shared machine.
        samples.CpuSeconds += (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalSeconds;
        samples.Latencies.AddRange(latencies.SelectMany(l => l));
    }

    private static double Percentile(double[] sorted, double p) =>
        sorted.Length == 0 ? double.NaN : sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p * sorted.Length) - 1)];

    private static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Mesh.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("Run the benchmark from inside the Mesh repository: no Mesh.sln above " + AppContext.BaseDirectory);
    }
}
