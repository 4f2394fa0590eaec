using System.Globalization;
using Mesh.Guard.V1;
using Mesh.ServiceDefaults;

namespace Mesh.Guard.Tests;

/// <summary>
/// Guard's check-duration histogram records seconds into second-sized buckets (issue 10, item 13: the
/// class of the gateway's and Retrieval's histograms that recorded into the SDK's millisecond defaults).
/// </summary>
public sealed class MetricsTests
{
    [Fact]
    public async Task Check_duration_is_in_seconds_with_second_buckets()
    {
        await using var server = await GuardServer.StartAsync();
        for (var i = 0; i < 10; i++)
        {
            await server.CheckAsync($"hello number {i}, nothing to see here", Stage.Output);
        }

        using var http = new HttpClient { BaseAddress = server.App.GetBoundAddresses()[1] };
        var lines = (await http.GetStringAsync("/metrics")).Split('\n');
        var bounds = lines.Where(l => l.StartsWith("mesh_guard_check_duration_seconds_bucket{", StringComparison.Ordinal))
            .Select(l => l[(l.IndexOf("le=\"", StringComparison.Ordinal) + 4)..])
            .Select(l => l[..l.IndexOf('"', StringComparison.Ordinal)])
            .Distinct().ToList();
        Assert.Contains("0.001", bounds);
        Assert.Contains("10", bounds);
        Assert.DoesNotContain("5000", bounds); // the millisecond defaults are gone
        Assert.Equal("+Inf", bounds[^1]);

        var count = Value(lines, "mesh_guard_check_duration_seconds_count");
        var sum = Value(lines, "mesh_guard_check_duration_seconds_sum");
        // Hosts of other tests in this process export the same meter, so at least our 10 checks are counted.
        Assert.True(count >= 10, $"{count} checks recorded");
        // Seconds, not milliseconds: an output-stage check of a short text takes far less than a second.
        Assert.InRange(sum / count, 1e-8, 1.0);
    }

    private static double Value(string[] lines, string name) =>
        lines.Where(l => l.StartsWith(name + "{", StringComparison.Ordinal) || l.StartsWith(name + " ", StringComparison.Ordinal))
            .Sum(line => double.Parse(line[(line.LastIndexOf('}') + 1 is var at && at > 0 ? at : name.Length)..].Trim().Split(' ')[0], CultureInfo.InvariantCulture));
}
