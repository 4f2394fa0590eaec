using System.Diagnostics;
using System.Numerics.Tensors;

namespace Mesh.Retrieval.Bench;

/// <summary>
/// Exact brute-force top-k by cosine (the MiniLM vectors are unit length, so by dot product), over every
/// base vector or over those a predicate admits: the reference recall is measured against, and the
/// exact-search baseline of the table.
/// </summary>
internal static class GroundTruth
{
    public static int[][] TopK(float[][] baseVectors, float[][] queries, int k, Func<int, bool>? admit, int threads, out double queriesPerSecond)
    {
        var result = new int[queries.Length][];
        var clock = Stopwatch.StartNew();
        Parallel.For(0, queries.Length, new ParallelOptions { MaxDegreeOfParallelism = threads }, q =>
        {
            var best = new PriorityQueue<int, float>(k + 1);
            for (var i = 0; i < baseVectors.Length; i++)
            {
                if (admit is not null && !admit(i))
                {
                    continue;
                }
                var score = TensorPrimitives.Dot(baseVectors[i], queries[q]);
                if (best.Count < k)
                {
                    best.Enqueue(i, score);
                }
                else if (best.TryPeek(out _, out var worst) && score > worst)
                {
                    best.EnqueueDequeue(i, score);
                }
            }
            var ids = new int[best.Count];
            for (var j = ids.Length - 1; j >= 0; j--)
            {
                ids[j] = best.Dequeue();
            }
            result[q] = ids;
        });
        queriesPerSecond = queries.Length / clock.Elapsed.TotalSeconds;
        return result;
    }

    public static double Recall(int[][] truth, IReadOnlyList<IReadOnlyCollection<long>> found)
    {
        long hits = 0, total = 0;
        for (var q = 0; q < truth.Length; q++)
        {
            var expected = new HashSet<long>(truth[q].Select(i => (long)i));
            hits += found[q].Count(expected.Contains);
            total += truth[q].Length;
        }
        return (double)hits / total;
    }
}
