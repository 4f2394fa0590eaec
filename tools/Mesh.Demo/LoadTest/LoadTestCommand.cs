using System.Diagnostics;
using System.Globalization;
using Grpc.Net.Client;

namespace Mesh.Demo.LoadTest;

/// <summary>
/// <c>Mesh.Demo loadtest</c>: sends generate/search/check calls through the gateway at a fixed rate
/// (<c>--rate</c>, open loop) or a fixed concurrency (<c>--concurrency</c>, closed loop) for
/// <c>--seconds</c>, then prints ghz's summary (or one JSON line with <c>--json</c>).
/// Exit code 0 when every call ended OK, 1 otherwise (statuses are in the report).
/// </summary>
internal static class LoadTestCommand
{
    public static readonly IReadOnlySet<string> Flags = new HashSet<string> { "json" };

    public static async Task<int> RunAsync(Options options)
    {
        var kinds = (options.Get("call") ?? "check").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (kinds.Length == 0 || kinds.Any(k => !MeshCalls.Known.Contains(k)))
        {
            throw new ArgumentException($"--call takes {string.Join(", ", MeshCalls.Known)} (comma-separated for a mix)");
        }

        var seconds = options.Int("seconds", 10);
        var settings = new MeshCallSettings(
            Model: options.Get("model") ?? "stories260K",
            MaxTokens: options.Int("max-tokens", 16),
            Collection: options.Get("collection") ?? "demo") { Timeout = TimeSpan.FromSeconds(options.Int("timeout-s", 20)) };
        using var channel = GrpcChannel.ForAddress(options.Gateway);
        var calls = new MeshCalls(channel, options.ApiKey, settings);

        var clock = Stopwatch.StartNew();
        var results = options.Get("rate") is { } rate
            ? await LoadRunner.OpenLoopAsync((n, c) => calls.CallAsync(kinds, n, c), double.Parse(rate, CultureInfo.InvariantCulture), TimeSpan.FromSeconds(seconds))
            : await LoadRunner.ClosedLoopAsync((n, c) => calls.CallAsync(kinds, n, c), options.Int("concurrency", 4), TimeSpan.FromSeconds(seconds));
        var report = LoadReport.From([.. results], clock.Elapsed);
        Console.WriteLine(options.Flag("json") ? report.ToJson() : report.ToText());
        return report.Statuses.Keys.All(s => s == "OK") ? 0 : 1;
    }
}
