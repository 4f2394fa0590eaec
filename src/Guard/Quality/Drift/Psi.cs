namespace Mesh.Guard.Quality.Drift;

/// <summary>
/// Population stability index of a count (here: text length in words) over fixed buckets:
/// Σ (a − e) · ln(a / e) over buckets, where e and a are the reference's and the current window's
/// shares. The usual reading (credit scoring, Evidently's "psi" method): below 0.1 no shift, 0.1–0.25
/// moderate, above 0.25 significant. Empty buckets get a share of 1e-4 so the logarithm is defined.
/// </summary>
public static class Psi
{
    /// <summary>Lower bounds of the word-count buckets: [0,5), [5,10), [10,20), [20,40), [40,80), [80,160), [160,∞).</summary>
    public static readonly int[] LengthBuckets = [0, 5, 10, 20, 40, 80, 160];

    private const double EmptyShare = 1e-4;

    /// <summary>The PSI of <paramref name="current"/> against <paramref name="reference"/>; 0 when either is empty.</summary>
    public static double Compute(IReadOnlyCollection<int> reference, IReadOnlyCollection<int> current)
    {
        if (reference.Count == 0 || current.Count == 0)
        {
            return 0;
        }

        var expected = Shares(reference);
        var actual = Shares(current);
        var psi = 0.0;
        for (var b = 0; b < expected.Length; b++)
        {
            psi += (actual[b] - expected[b]) * Math.Log(actual[b] / expected[b]);
        }

        return psi;
    }

    /// <summary>The bucket of a word count.</summary>
    public static int Bucket(int words)
    {
        var b = LengthBuckets.Length - 1;
        while (b > 0 && words < LengthBuckets[b])
        {
            b--;
        }

        return b;
    }

    private static double[] Shares(IReadOnlyCollection<int> values)
    {
        var counts = new double[LengthBuckets.Length];
        foreach (var v in values)
        {
            counts[Bucket(v)]++;
        }

        for (var b = 0; b < counts.Length; b++)
        {
            counts[b] = Math.Max(EmptyShare, counts[b] / values.Count);
        }

        return counts;
    }
}
