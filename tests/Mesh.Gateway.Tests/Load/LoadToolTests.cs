using Grpc.Core;
using Mesh.Demo.LoadTest;
using Mesh.Gateway.Tests.Infrastructure;

namespace Mesh.Gateway.Tests.Load;

/// <summary>
/// Mesh.Demo's load command against the real mesh: an open-loop run sends exactly rate × seconds
/// calls and counts each gRPC status (a rate-limited key's RESOURCE_EXHAUSTED, which h2load would
/// count as HTTP 200 successes), and a closed-loop mix reports per kind.
/// </summary>
[Collection(MeshCollection.Name)]
public sealed class LoadToolTests(MeshFixture mesh)
{
    [Fact]
    public async Task Open_loop_sends_rate_times_seconds_calls_and_counts_every_grpc_status()
    {
        var calls = new MeshCalls(mesh.Channel, mesh.FivePerSecond.Secret, new MeshCallSettings());

        var results = await LoadRunner.OpenLoopAsync((n, c) => calls.CallAsync(["check"], n, c), rate: 20, TimeSpan.FromSeconds(2));
        var report = LoadReport.From([.. results], TimeSpan.FromSeconds(2));

        Assert.Equal(40, report.Count);
        Assert.True(report.Statuses.GetValueOrDefault("OK") >= 1, string.Join(", ", report.Statuses));
        Assert.True(report.Statuses.GetValueOrDefault("RESOURCE_EXHAUSTED") >= 1, string.Join(", ", report.Statuses));
        Assert.Equal(40, report.Statuses["OK"] + report.Statuses["RESOURCE_EXHAUSTED"]);
        // Calls are due every 50 ms, whatever the answers did.
        Assert.Equal(Enumerable.Range(0, 40).Select(i => i * 50.0), results.Select(r => Math.Round(r.Due.TotalMilliseconds)));
        Assert.Contains("[RESOURCE_EXHAUSTED]", report.ToText(), StringComparison.Ordinal);
        Assert.All(results, r => Assert.True(r.Latency >= TimeSpan.Zero, $"call due at {r.Due} ended before it was due"));
    }

    [Fact]
    public async Task Closed_loop_mix_reports_each_kind_with_ghz_percentiles()
    {
        var calls = new MeshCalls(mesh.Channel, mesh.Admin.Secret, new MeshCallSettings(MaxTokens: 4));

        var results = await LoadRunner.ClosedLoopAsync((n, c) => calls.CallAsync(["generate", "check"], n, c), concurrency: 2, TimeSpan.FromSeconds(1));
        var report = LoadReport.From([.. results], TimeSpan.FromSeconds(1));

        Assert.True(report.Count >= 2);
        Assert.Equal(report.Count, report.Statuses["OK"]);
        Assert.True(report.Kinds["generate"] >= 1 && report.Kinds["check"] >= 1);
        Assert.All(results, r => Assert.Equal(StatusCode.OK, r.Status));
        Assert.True(report.FastestMs <= report.PercentilesMs["p50"] && report.PercentilesMs["p50"] <= report.PercentilesMs["p99"] && report.PercentilesMs["p99"] <= report.SlowestMs);
    }

    [Fact]
    public void Percentiles_are_nearest_rank()
    {
        var values = Enumerable.Range(1, 100).Select(i => (double)i).ToArray();

        Assert.Equal(10, LoadReport.Percentile(values, 0.10));
        Assert.Equal(50, LoadReport.Percentile(values, 0.50));
        Assert.Equal(99, LoadReport.Percentile(values, 0.99));
        Assert.Equal(100, LoadReport.Percentile(values, 0.999));
        Assert.Equal(7, LoadReport.Percentile([7.0], 0.5));
        Assert.True(double.IsNaN(LoadReport.Percentile([], 0.5)));
    }
}
