using System.Globalization;
using Mesh.Retrieval.V1;

namespace Mesh.Retrieval.Tests;

/// <summary>
/// Retrieval's metrics have the units their names say (issue 10, item 13): the search-duration histogram
/// records seconds into second-sized buckets (sub-millisecond to 10 s), not into the SDK's millisecond
/// defaults where every search landed in the first bucket.
/// </summary>
public sealed class MetricsTests
{
    [Fact]
    public async Task Search_duration_is_in_seconds_with_buckets_that_separate_real_searches()
    {
        await using var server = await RetrievalServer.StartAsync();
        await server.Client.CreateCollectionAsync(new CreateCollectionRequest { Name = "m", Dimensions = 8, Metric = Metric.Cosine });
        var vectors = TestData.RandomVectors(50, 8, seed: 3);
        await server.Client.UpsertAsync(new UpsertRequest { Collection = "m", Points = { vectors.Select((v, i) => TestData.Point((ulong)i, v)) } });
        for (var i = 0; i < 20; i++)
        {
            await server.Client.SearchAsync(new SearchRequest { Collection = "m", Vector = new Vector { Values = { vectors[i] } }, Limit = 5 });
        }

        using var http = new HttpClient { BaseAddress = server.HttpAddress };
        var lines = (await http.GetStringAsync("/metrics")).Split('\n');
        var buckets = lines.Where(l => l.StartsWith("mesh_retrieval_search_duration_seconds_bucket{", StringComparison.Ordinal)).ToList();
        var bounds = buckets.Select(l => l[(l.IndexOf("le=\"", StringComparison.Ordinal) + 4)..]).Select(l => l[..l.IndexOf('"', StringComparison.Ordinal)]).Distinct().ToList();
        Assert.Contains("0.0005", bounds);
        Assert.Contains("0.001", bounds);
        Assert.Contains("10", bounds);
        Assert.DoesNotContain("5000", bounds); // the millisecond defaults are gone
        Assert.Equal("+Inf", bounds[^1]);

        var count = Value(lines, "mesh_retrieval_search_duration_seconds_count");
        var sum = Value(lines, "mesh_retrieval_search_duration_seconds_sum");
        // Every host in this test process exports every "Mesh.*" meter, so tests running beside this one add to it.
        Assert.True(count >= 20, $"{count} searches recorded");
        // Seconds, not milliseconds: 20 searches of 50 points over loopback take well under a second each.
        Assert.InRange(sum / count, 1e-7, 1.0);
        Assert.True(Value(lines, "mesh_retrieval_points_written_total") >= 50);
    }

    // The sum of a metric's samples over its series (filtered and unfiltered): the first token after the
    // labels (a timestamp may follow).
    private static double Value(string[] lines, string name) =>
        lines.Where(l => l.StartsWith(name + "{", StringComparison.Ordinal) || l.StartsWith(name + " ", StringComparison.Ordinal))
            .Sum(line => double.Parse(line[(line.LastIndexOf('}') + 1 is var at && at > 0 ? at : name.Length)..].Trim().Split(' ')[0], CultureInfo.InvariantCulture));
}
