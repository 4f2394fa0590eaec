using Google.Protobuf.WellKnownTypes;
using Mesh.Retrieval.V1;

namespace Mesh.Retrieval.Tests;

/// <summary>Random vectors, points and an exact brute-force reference the tests compare the service against.</summary>
internal static class TestData
{
    public static float[][] RandomVectors(int count, int dimensions, int seed)
    {
        var random = new Random(seed);
        var vectors = new float[count][];
        for (var i = 0; i < count; i++)
        {
            vectors[i] = new float[dimensions];
            for (var d = 0; d < dimensions; d++)
            {
                vectors[i][d] = (float)(random.NextDouble() * 2 - 1);
            }
        }
        return vectors;
    }

    public static PointStruct Point(ulong id, float[] vector, Struct? payload = null) => new()
    {
        Id = new PointId { Num = id },
        Vector = new Vector { Values = { vector } },
        Payload = payload ?? new Struct(),
    };

    public static double Cosine(float[] a, float[] b)
    {
        double dot = 0, na = 0, nb = 0;
        for (var i = 0; i < a.Length; i++)
        {
            dot += a[i] * (double)b[i];
            na += a[i] * (double)a[i];
            nb += b[i] * (double)b[i];
        }
        return dot / Math.Sqrt(na * nb);
    }

    /// <summary>The true top-k ids by cosine among the points the predicate admits.</summary>
    public static List<ulong> ExactTopK(float[][] vectors, float[] query, int k, Func<int, bool> admit) =>
        [.. Enumerable.Range(0, vectors.Length).Where(admit)
            .OrderByDescending(i => Cosine(vectors[i], query)).Take(k).Select(i => (ulong)i)];

    public static FieldCondition Match(string key, string keyword) => new() { Key = key, Match = new MatchValue { Keyword = keyword } };

    public static Condition Field(FieldCondition condition) => new() { Field = condition };
}
