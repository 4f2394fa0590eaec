using System.Numerics.Tensors;
using Mesh.Inference.Sampling;
using Mesh.Kernels.Sampling;

namespace Mesh.Inference.Bench;

/// <summary>
/// The sampler Mesh had before <see cref="Sampler"/> sorted by bands, kept as the
/// benchmark's baseline: it sorts the whole vocabulary whenever top-k, top-p or min-p is set, and
/// walks temperature-only draws by token id. Penalties are left out (the benchmark uses none).
/// </summary>
internal sealed class FullSortSampler(SamplingParameters parameters, int vocabSize)
{
    private readonly float[] _working = new float[vocabSize];
    private readonly int[] _order = new int[vocabSize];
    private readonly float[] _keys = new float[vocabSize];

    /// <summary>The parameters every draw of this sampler uses.</summary>
    public SamplingParameters Parameters { get; } = parameters;

    /// <summary>
    /// Chooses the next token from <paramref name="logits"/> given the <paramref name="context"/> so
    /// far (prompt and output, for the penalties); <paramref name="draw"/> numbers the draw.
    /// </summary>
    public int Sample(ReadOnlySpan<float> logits, ReadOnlySpan<int> context, ulong draw)
    {
        var p = Parameters;
        var working = _working.AsSpan(0, logits.Length);
        logits.CopyTo(working);
        if (p.HasPenalties)
        {
            throw new NotSupportedException("the baseline leaves penalties out: the benchmark draws without them");
        }

        if (p.IsGreedy)
        {
            return TensorPrimitives.IndexOfMax(working);
        }

        var count = working.Length;
        var order = _order.AsSpan(0, count);
        var filtered = p.TopK > 0 || p.TopP < 1f || p.MinP > 0f;
        if (filtered)
        {
            // Sort by logit, descending: keys are negated so that Array.Sort's ascending order serves.
            var keys = _keys.AsSpan(0, count);
            for (var i = 0; i < count; i++)
            {
                order[i] = i;
                keys[i] = -working[i];
            }

            keys.Sort(order);
            if (p.TopK > 0)
            {
                count = Math.Min(count, p.TopK);
            }

            var max = working[order[0]];
            if (p.TopP < 1f)
            {
                var total = 0.0;
                for (var i = 0; i < count; i++)
                {
                    total += Math.Exp(working[order[i]] - max);
                }

                var cumulative = 0.0;
                for (var i = 0; i < count; i++)
                {
                    cumulative += Math.Exp(working[order[i]] - max) / total;
                    if (cumulative >= p.TopP)
                    {
                        count = i + 1;
                        break;
                    }
                }
            }

            if (p.MinP > 0f)
            {
                var threshold = max + MathF.Log(p.MinP);
                var kept = 1;
                while (kept < count && working[order[kept]] >= threshold)
                {
                    kept++;
                }

                count = kept;
            }
        }
        else
        {
            for (var i = 0; i < count; i++)
            {
                order[i] = i;
            }
        }

        // Softmax of the survivors at the temperature, then invert the CDF at a uniform draw.
        var top = working[order[0]];
        if (!filtered)
        {
            top = TensorPrimitives.Max(working);
        }

        var sum = 0.0;
        var probabilities = _keys.AsSpan(0, count);
        for (var i = 0; i < count; i++)
        {
            probabilities[i] = MathF.Exp((working[order[i]] - top) / p.Temperature);
            sum += probabilities[i];
        }

        var target = Philox4x32.Uniform(p.Seed, (uint)draw) * sum;
        var acc = 0.0;
        for (var i = 0; i < count; i++)
        {
            acc += probabilities[i];
            if (target < acc)
            {
                return order[i];
            }
        }

        return order[count - 1];
    }
}
