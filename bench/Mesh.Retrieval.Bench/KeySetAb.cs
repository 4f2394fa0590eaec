using Mesh.Retrieval.Collections;
using Mesh.Retrieval.Services;

namespace Mesh.Retrieval.Bench;

/// <summary>
/// Same-run A/B of the collection's filtered search in this process, without gRPC: a selective filter with
/// its key set cached across searches (as a repeated filter now runs) against the set rebuilt for every
/// search (the cache retired before each one, as every search did before the cache; the rebuilt set is a
/// fresh array where it used to be a pooled one). Each search compiles the filter anew, as a request does.
/// </summary>
internal static class KeySetAb
{
    /// <summary>Both arms over all <paramref name="queries"/> on <paramref name="threads"/> threads: (cached, rebuilt).</summary>
    public static (Measurement Cached, Measurement Rebuilt) Measure(Collection collection, float[][] queries, int ef, string field, int[][] truth, int threads, int rounds)
    {
        Measurement cached = default, rebuilt = default;
        for (var round = 0; round < rounds; round++)
        {
            cached = Measurement.Best(cached, Run(collection, queries, ef, field, truth, threads, retire: false));
            rebuilt = Measurement.Best(rebuilt, Run(collection, queries, ef, field, truth, threads, retire: true));
        }
        return (cached, rebuilt);
    }

    private static Measurement Run(Collection collection, float[][] queries, int ef, string field, int[][] truth, int threads, bool retire)
    {
        var contract = ServiceClient.Filter(field);
        var found = new IReadOnlyCollection<long>[queries.Length];
        var clock = CpuClock.Start();
        Parallel.For(0, queries.Length, new ParallelOptions { MaxDegreeOfParallelism = threads }, q =>
        {
            if (retire)
            {
                collection.Segment.Planner.KeySets.WritesApplied();
            }
            var filter = collection.CompileFilter(ProtoMapping.ToFilter(contract));
            found[q] = collection.Search(queries[q], ServiceClient.K, filter, ef, exact: false, threshold: null)
                .Select(h => (long)h.Point.Id.Number).ToArray();
        });
        return clock.Stop(queries.Length, GroundTruth.Recall(truth, found));
    }
}
