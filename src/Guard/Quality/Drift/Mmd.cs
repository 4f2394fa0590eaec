using System.Numerics.Tensors;

namespace Mesh.Guard.Quality.Drift;

/// <summary>
/// Two-sample test of whether two sets of vectors come from the same distribution: the unbiased
/// squared maximum mean discrepancy with a Gaussian (RBF) kernel and a permutation test, as in
/// Gretton et al., "A Kernel Two-Sample Test" (JMLR 13, 2012), eq. 3 and section 8. The kernel width
/// is the median pairwise distance of the pooled samples (the median heuristic, same paper).
/// Evidently's embedding drift method "mmd" computes the same statistic.
/// </summary>
public static class Mmd
{
    /// <summary>The test's outcome: statistic, p-value, kernel width, sample sizes.</summary>
    public readonly record struct Result(double Mmd2, double PValue, double Bandwidth, int ReferenceSize, int CurrentSize);

    /// <summary>
    /// Tests <paramref name="reference"/> against <paramref name="current"/> (each vector the same
    /// length, at least two per set). Cost: O((m+n)² · d) for the kernel matrix, then
    /// O((m+n)²) per permutation.
    /// </summary>
    /// <param name="reference">The reference sample (m vectors).</param>
    /// <param name="current">The current sample (n vectors).</param>
    /// <param name="permutations">Label permutations; the p-value is (1 + #{permuted ≥ observed}) / (1 + permutations).</param>
    /// <param name="random">Source of the permutations (seeded by the caller for reproducible reports).</param>
    /// <exception cref="ArgumentException">Fewer than two vectors in a set, or vectors of different lengths.</exception>
    public static Result Test(IReadOnlyList<float[]> reference, IReadOnlyList<float[]> current, int permutations, Random random)
    {
        int m = reference.Count, n = current.Count, total = m + n;
        if (m < 2 || n < 2)
        {
            throw new ArgumentException($"MMD needs at least two vectors per set (got {m} and {n}).");
        }

        var pooled = new float[total][];
        for (var i = 0; i < total; i++)
        {
            pooled[i] = i < m ? reference[i] : current[i - m];
            if (pooled[i].Length != pooled[0].Length)
            {
                throw new ArgumentException($"vector {i} has {pooled[i].Length} dimensions, vector 0 has {pooled[0].Length}.");
            }
        }

        // Squared distances once; the kernel and every permutation reuse them.
        var squaredNorms = pooled.Select(v => TensorPrimitives.Dot(v, v)).ToArray();
        var kernel = new double[total * total];
        var distances = new List<double>(total * (total - 1) / 2);
        for (var i = 0; i < total; i++)
        {
            for (var j = i + 1; j < total; j++)
            {
                var d2 = Math.Max(0, squaredNorms[i] + squaredNorms[j] - 2 * TensorPrimitives.Dot(pooled[i], pooled[j]));
                kernel[i * total + j] = d2;
                distances.Add(Math.Sqrt(d2));
            }
        }

        distances.Sort();
        var sigma = distances[distances.Count / 2];
        if (sigma <= 0)
        {
            sigma = 1; // Every vector identical: any width gives MMD 0.
        }

        var gamma = 1.0 / (2 * sigma * sigma);
        for (var i = 0; i < total; i++)
        {
            for (var j = i + 1; j < total; j++)
            {
                var k = Math.Exp(-kernel[i * total + j] * gamma);
                kernel[i * total + j] = k;
                kernel[j * total + i] = k;
            }
        }

        var labels = new bool[total]; // true: in the first sample
        for (var i = 0; i < m; i++)
        {
            labels[i] = true;
        }

        var observed = Statistic(kernel, labels, m, n);
        var atLeast = 0;
        for (var p = 0; p < permutations; p++)
        {
            random.Shuffle(labels);
            if (Statistic(kernel, labels, m, n) >= observed)
            {
                atLeast++;
            }
        }

        return new Result(observed, (1.0 + atLeast) / (1.0 + permutations), sigma, m, n);
    }

    /// <summary>Unbiased MMD² (Gretton et al. eq. 3) of the split that <paramref name="labels"/> describes.</summary>
    private static double Statistic(double[] kernel, bool[] labels, int m, int n)
    {
        var total = labels.Length;
        double xx = 0, yy = 0, xy = 0;
        for (var i = 0; i < total; i++)
        {
            var row = i * total;
            var li = labels[i];
            for (var j = i + 1; j < total; j++)
            {
                var k = kernel[row + j];
                if (li == labels[j])
                {
                    if (li)
                    {
                        xx += k;
                    }
                    else
                    {
                        yy += k;
                    }
                }
                else
                {
                    xy += k;
                }
            }
        }

        // Off-diagonal sums over i < j count each pair once; the estimator's sums over i ≠ j count it twice.
        return 2 * xx / (m * (m - 1.0)) + 2 * yy / (n * (n - 1.0)) - 2 * xy / ((double)m * n);
    }
}
