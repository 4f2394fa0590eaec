namespace Mesh.Kernels.Sampling;

/// <summary>
/// The sampling algorithm of the sample_f32 kernel, on the CPU, restated from the Inference CPU
/// sampler (llama.cpp's order: top-k, top-p, min-p, temperature, then a draw walking the survivors
/// from the largest logit down, with Philox uniforms). The GPU check compares the kernel with this;
/// a test holds this equal to the CPU sampler, so a seed gives the same tokens on both backends
/// wherever float rounding does not move a boundary. Repetition penalties are not part of it: they
/// change the logits before sampling.
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

        var n = logits.Length;
        var keys = new uint[n];
        for (var i = 0; i < n; i++)
        {
            keys[i] = Key(logits[i]);
        }
        // Tokens by descending logit, equal logits by ascending index (the kernel picks the lowest).
        var order = Enumerable.Range(0, n).OrderByDescending(i => keys[i]).ThenBy(i => i).ToArray();

        // Top-k: the k-th largest key (ties at it kept).
        uint threshold = 0;
        if (row.TopK > 0 && row.TopK < n)
        {
            threshold = keys[order[(int)row.TopK - 1]];
        }

        // Top-p over the top-k survivors at temperature 1: the largest key whose mass reaches top_p.
        if (row.TopP < 1f)
        {
            double total = 0;
            foreach (var i in order)
            {
                if (keys[i] >= threshold)
                {
                    total += Math.Exp(logits[i] - max);
                }
            }
            double cumulative = 0;
            for (var j = 0; j < n && keys[order[j]] >= threshold; j++)
            {
                cumulative += Math.Exp(logits[order[j]] - max) / total;
                var lastOfTies = j + 1 == n || keys[order[j + 1]] != keys[order[j]];
                if (lastOfTies && cumulative >= row.TopP)
                {
                    threshold = keys[order[j]];
                    break;
                }
            }
        }

        // Min-p on the logits: e^(x − max) ≥ min_p.
        var minLogit = row.MinP > 0 ? max + MathF.Log(row.MinP) : float.NegativeInfinity;
        var values = logits.ToArray();
        var kept = order.Where(i => keys[i] >= threshold && values[i] >= minLogit).ToArray();

        var weights = kept.Select(i => MathF.Exp((values[i] - max) / row.Temperature)).ToArray();
        double sum = 0;
        foreach (var w in weights)
        {
            sum += w;
        }
        var target = Philox4x32.Uniform(row.Seed, row.Step) * sum;
        double running = 0;
        for (var j = 0; j < kept.Length; j++)
        {
            running += weights[j];
            if (target < running)
            {
                return kept[j];
            }
        }
        // Rounding left the target at or past the total: the smallest kept logit, lowest index.
        var last = keys[kept[^1]];
        return kept.First(i => keys[i] == last);
    }

    /// <summary>An unsigned key with the same order as the float (what the kernel bisects over).</summary>
    public static uint Key(float value)
    {
        var bits = BitConverter.SingleToUInt32Bits(value);
        return (bits & 0x80000000) != 0 ? ~bits : bits | 0x80000000;
    }
}
