using Mesh.Retrieval.Filtering;
using Mesh.Retrieval.Sparse;

namespace Mesh.Retrieval.Collections;

/// <summary>A search hit: the point and its score (higher is closer).</summary>
internal readonly record struct SearchHit(PointRecord Point, float Score);

/// <summary>
/// Chooses how a search runs, as Qdrant's query planner does with payload-index cardinality estimates.
/// Without a filter the HNSW graph answers (or an exact scan when asked). With a filter it bounds the
/// matching points from the keyword postings (a <c>must</c> by its posting size, a <c>should</c> by the sum
/// of its branches), or counts them with a scan stopped once past the threshold when no keyword condition
/// bounds them. At most <c>exactSearchThreshold</c> matching points are ranked exactly (the true top-k, and
/// cheaper than a graph walk that must skip nearly every node); more are found by walking the graph with
/// the filter applied inside the walk, so the answer is still the top-k among matching points.
/// Sparse searches go to the <see cref="Bm25Index"/>; hybrid searches run both and fuse the two rankings
/// (<see cref="ReciprocalRankFusion"/>), each side taking the same filter.
/// Takes no lock: it reads immutable records and the thread-safe indexes.
/// </summary>
internal sealed class SearchPlanner(IdTracker ids, PayloadIndex payloads, VectorIndex vectors, Bm25Index? sparse, int exactSearchThreshold)
{
    /// <summary>Candidates each side of a hybrid search contributes at least (more when the limit is higher).</summary>
    public const int HybridPrefetch = 100;

    /// <summary>Most candidates each side of a hybrid search contributes.</summary>
    public const int MaxHybridPrefetch = 1000;

    /// <summary>
    /// A filtered graph walk tests its nodes against a <see cref="MatchingKeySet"/> when the postings bound
    /// the matching points to at most 1/this of the collection. Building the set costs a pass over the
    /// candidates; the walk calls its predicate for many more nodes than match when few match, so the set
    /// pays off for selective filters and would cost more than it saves for broad ones (which the walk
    /// passes quickly).
    /// </summary>
    public const int KeySetSelectivity = 8;

    /// <summary>The key sets of selective filters, reused until the next write (the segment retires them).</summary>
    public MatchingKeySetCache KeySets { get; } = new();

    /// <summary>Runs a search in its mode; see <see cref="SearchQuery"/>.</summary>
    public List<SearchHit> Search(SearchQuery query)
    {
        switch (query.Mode)
        {
            case QueryMode.Sparse:
                return SparseSearch(query.Text!, query.Limit, query.Filter, query.Threshold);
            case QueryMode.Hybrid:
                var prefetch = Math.Min(MaxHybridPrefetch, Math.Max(query.Limit, HybridPrefetch));
                var dense = Search(query.Vector!, prefetch, query.Filter, query.Ef, query.Exact, query.Threshold);
                var bm25 = SparseSearch(query.Text!, prefetch, query.Filter, null);
                return ReciprocalRankFusion.Fuse([dense, bm25], query.Limit);
            default:
                return Search(query.Vector!, query.Limit, query.Filter, query.Ef, query.Exact, query.Threshold);
        }
    }

    private List<SearchHit> SparseSearch(string text, int limit, CompiledFilter? filter, float? threshold) =>
        (sparse ?? throw new InvalidOperationException("The collection has no BM25 index."))
            .Search(text, limit, filter, threshold, ids.ByKey);

    /// <summary>
    /// The best <paramref name="limit"/> points for <paramref name="query"/>, best first, scores at or above
    /// <paramref name="threshold"/> when one is given. <paramref name="ef"/> 0 uses the collection default.
    /// </summary>
    public List<SearchHit> Search(float[] query, int limit, CompiledFilter? filter, int ef, bool exact, float? threshold)
    {
        var prepared = vectors.Prepare(query);
        List<(PointRecord Point, float Distance)> hits;
        if (filter is null)
        {
            hits = exact ? ExactSearch(prepared, limit, ids.Points) : GraphSearch(prepared, limit, ef, null);
        }
        else
        {
            var bound = filter.UpperBound(payloads.Postings);
            if (exact || bound <= exactSearchThreshold)
            {
                var candidates = bound is null
                    ? ids.Points
                    : filter.Candidates(payloads.Postings).Select(ids.ByKey).OfType<PointRecord>();
                hits = ExactSearch(prepared, limit, candidates.Where(r => filter.Matches(r.Values)));
            }
            else if (bound is null
                && ids.Points.Where(r => filter.Matches(r.Values)).Take(exactSearchThreshold + 1).ToList() is { } matching
                && matching.Count <= exactSearchThreshold)
            {
                hits = ExactSearch(prepared, limit, matching);
            }
            else
            {
                // The per-node test of a filtered walk: the point's current record passes the filter.
                bool Matches(ulong key) => ids.ByKey(key) is { } r && filter.Matches(r.Values);
                if (bound is not null && bound * KeySetSelectivity <= ids.Count)
                {
                    // Selective enough that the walk visits many more nodes than match: test each visited node
                    // against a bitset of the matching keys (built from the postings, each with the same test)
                    // instead of looking up its record and walking the filter tree per node. The hits are the same.
                    // The set is cached per filter until the next write (see MatchingKeySetCache).
                    var keySet = KeySets.GetOrBuild(filter, () => MatchingKeySet.Build(filter.Candidates(payloads.Postings), ids.NextKey, Matches));
                    hits = GraphSearch(prepared, limit, ef, keySet.Contains);
                }
                else
                {
                    hits = GraphSearch(prepared, limit, ef, Matches);
                }
            }
        }
        var results = new List<SearchHit>(hits.Count);
        foreach (var (point, distance) in hits)
        {
            var score = vectors.Score(distance);
            if (threshold is null || score >= threshold)
            {
                results.Add(new SearchHit(point, score));
            }
        }
        return results;
    }

    private List<(PointRecord, float)> GraphSearch(float[] query, int limit, int ef, Func<ulong, bool>? filter)
    {
        var keys = new ulong[limit];
        var distances = new float[limit];
        for (var attempt = 1; ; attempt++)
        {
            var found = vectors.Search(query, ef, keys, distances, filter);
            var hits = new List<(PointRecord, float)>(found);
            for (var i = 0; i < found; i++)
            {
                // A point replaced or deleted while the search ran is skipped, never returned half-updated.
                if (ids.ByKey(keys[i]) is { } record)
                {
                    hits.Add((record, distances[i]));
                }
            }
            // A skipped hit means a write raced this search: search again so that the replacement (already
            // in the graph, or about to be) takes its place instead of the answer coming back short.
            if (hits.Count == found || attempt == 3)
            {
                return hits;
            }
        }
    }

    private List<(PointRecord, float)> ExactSearch(float[] query, int limit, IEnumerable<PointRecord> candidates)
    {
        // A max-heap of the best `limit` so far, keyed by distance: the root is the worst kept hit.
        var best = new PriorityQueue<PointRecord, float>(limit + 1, Comparer<float>.Create((a, b) => b.CompareTo(a)));
        var scratch = new float[vectors.Dimensions];
        foreach (var record in candidates)
        {
            var distance = vectors.Distance(query, record.Vector, scratch);
            if (best.Count < limit)
            {
                best.Enqueue(record, distance);
            }
            else if (best.TryPeek(out _, out var worst) && distance < worst)
            {
                best.EnqueueDequeue(record, distance);
            }
        }
        var hits = new List<(PointRecord, float)>(best.Count);
        while (best.TryDequeue(out var record, out var distance))
        {
            hits.Add((record, distance));
        }
        hits.Reverse();
        return hits;
    }
}
