using System.Numerics.Tensors;

namespace Mesh.Guard.Embeddings;

/// <summary>Similarity helpers over unit-length embeddings.</summary>
public static class VectorMath
{
    /// <summary>Cosine similarity of two unit vectors (their dot product).</summary>
    public static float Cosine(ReadOnlySpan<float> a, ReadOnlySpan<float> b) => TensorPrimitives.Dot(a, b);

    /// <summary>The highest similarity of <paramref name="vector"/> to any of <paramref name="references"/>, and which.</summary>
    public static (float Score, int Index) Best(ReadOnlySpan<float> vector, IReadOnlyList<float[]> references)
    {
        var best = float.NegativeInfinity;
        var index = -1;
        for (var i = 0; i < references.Count; i++)
        {
            var s = Cosine(vector, references[i]);
            if (s > best)
            {
                best = s;
                index = i;
            }
        }
        return (best, index);
    }

    /// <summary>The normalised mean of unit vectors: one vector for a whole multi-segment text.</summary>
    public static float[] MeanDirection(IReadOnlyList<float[]> vectors)
    {
        var mean = new float[vectors[0].Length];
        foreach (var v in vectors)
        {
            TensorPrimitives.Add(mean, v, mean);
        }
        var norm = TensorPrimitives.Norm(mean);
        if (norm > 0)
        {
            TensorPrimitives.Divide(mean, norm, mean);
        }
        return mean;
    }
}
