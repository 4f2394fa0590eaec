using Mesh.Retrieval.Collections;

namespace Mesh.Retrieval.Sparse;

/// <summary>
/// Reciprocal rank fusion (Cormack, Clarke and Buettcher, "Reciprocal Rank Fusion outperforms Condorcet and
/// individual Rank Learning Methods", SIGIR 2009): a point's fused score is Σ over the rankings that hold it of
/// 1 / (k + rank), rank counted from 1, with k = 60 as in the paper, Qdrant's Query API and Elasticsearch.
/// Only ranks matter, so a cosine list and a BM25 list fuse without calibrating their scores.
/// </summary>
internal static class ReciprocalRankFusion
{
    /// <summary>The rank constant k.</summary>
    public const int K = 60;

    /// <summary>
    /// The best <paramref name="limit"/> points of the fused rankings, best first. Points are the same when their
    /// index keys are; equal fused scores keep the order in which the points first appear (the earlier ranking's
    /// first), so answers are reproducible.
    /// </summary>
    public static List<SearchHit> Fuse(IReadOnlyList<IReadOnlyList<SearchHit>> rankings, int limit)
    {
        var fused = new Dictionary<ulong, (PointRecord Point, double Score, int FirstSeen)>();
        foreach (var ranking in rankings)
        {
            for (var rank = 1; rank <= ranking.Count; rank++)
            {
                var point = ranking[rank - 1].Point;
                var contribution = 1.0 / (K + rank);
                fused[point.Key] = fused.TryGetValue(point.Key, out var entry)
                    ? entry with { Score = entry.Score + contribution }
                    : (point, contribution, fused.Count);
            }
        }
        return [.. fused.Values
            .OrderByDescending(e => e.Score).ThenBy(e => e.FirstSeen)
            .Take(limit)
            .Select(e => new SearchHit(e.Point, (float)e.Score))];
    }
}
