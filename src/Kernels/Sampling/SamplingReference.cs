namespace Mesh.Kernels.Sampling;

/// <summary>
/// The sampling algorithm of the sample_f32 kernel, on the CPU: the definition the GPU is checked
/// against, and what a CPU engine can call to draw the same tokens from the same seed. See
/// sampling.ptx for the algorithm; this code follows it step for step with sorts instead of bisection.
/// </summary>
public static class SamplingReference
{
    /// <summary>The token drawn from one row of logits.</summary>
    public static int Sample(ReadOnlySpan<float> logits, SamplingRow row)
    {
        if (logits.IsEmpty)
        {
            throw new ArgumentException("logits are empty", nameof(logits));
        }
        var max = float.NegativeInfinity;
        foreach (var x in logits)
        {
            max = MathF.Max(max, x);
        }
        if (!(row.Temperature > 0))
        {
            return logits.IndexOf(max);
        }

        var c = 1.4426950408889634f / row.Temperature; // log2(e) / T, as the kernel computes it
        var n = logits.Length;
        var keys = new uint[n];
        var weights = new float[n];
        for (var i = 0; i < n; i++)
        {
            keys[i] = Key(logits[i]);
            weights[i] = MathF.Pow(2f, (logits[i] - max) * c);
        }

        // Top-k: the k-th largest key.
        uint threshold = 0;
        if (row.TopK > 0 && row.TopK < n)
        {
            var sorted = (uint[])keys.Clone();
            Array.Sort(sorted);
            threshold = sorted[n - (int)row.TopK];
        }

        bool Kept(int i, uint t) => keys[i] >= t && weights[i] >= row.MinP;

        // Top-p: the largest key t2 whose mass Σ_{key ≥ max(t2, t)} w reaches top_p × the kept mass.
        if (row.TopP < 1f)
        {
            double total = 0;
            for (var i = 0; i < n; i++)
            {
                if (Kept(i, threshold))
                {
                    total += weights[i];
                }
            }
            var goal = total * row.TopP;
            var order = Enumerable.Range(0, n).Where(i => Kept(i, threshold)).OrderByDescending(i => keys[i]).ToArray();
            double mass = 0;
            for (var j = 0; j < order.Length; j++)
            {
                mass += weights[order[j]];
                var last = j + 1 == order.Length || keys[order[j + 1]] != keys[order[j]];
                if (last && mass >= goal)
                {
                    threshold = Math.Max(threshold, keys[order[j]]);
                    break;
                }
            }
        }

        double kept = 0;
        var lastKept = -1;
        for (var i = 0; i < n; i++)
        {
            if (Kept(i, threshold))
            {
                kept += weights[i];
                lastKept = i;
            }
        }
        var target = Philox4x32.Uniform(row.Seed, row.Step) * kept;
        double running = 0;
        for (var i = 0; i < n; i++)
        {
            if (Kept(i, threshold))
            {
                running += weights[i];
                if (running > target)
                {
                    return i;
                }
            }
        }
        return lastKept;
    }

    /// <summary>An unsigned key with the same order as the float (what the kernel bisects over).</summary>
    public static uint Key(float value)
    {
        var bits = BitConverter.SingleToUInt32Bits(value);
        return (bits & 0x80000000) != 0 ? ~bits : bits | 0x80000000;
    }
}
