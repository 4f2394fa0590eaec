using System.Numerics.Tensors;
using System.Runtime.Intrinsics;
using Mesh.Kernels.Sampling;

namespace Mesh.Inference.Sampling;

/// <summary>
/// Turns one row of logits into a token, in llama.cpp's order: penalties, top-k, top-p, min-p,
/// temperature, then a draw that walks the surviving tokens from the largest logit down (equal logits
/// by ascending id). Draw n of a request uses Philox4x32-10(seed, n) — the generator the GPU sampling
/// kernel uses — so a seed reproduces the same tokens on every run, every thread count, every batch
/// composition, and on either backend where float rounding does not move a boundary: this is the
/// algorithm of <c>Mesh.Kernels.Sampling.SamplingReference</c> (ties at the k-th logit kept, top-p cut
/// after the last of equal logits, min-p on the logits), computed without sorting the vocabulary:
/// the weights are vectorized passes and only the leading bands of <see cref="DescendingLogits"/>
/// are sorted, as far as the cuts and the draw reach.
/// </summary>
public sealed class Sampler(SamplingParameters parameters)
{
    // Scratch of one row, shared by the samplers that run on a thread (one row at a time per thread).
    [ThreadStatic]
    private static Scratch? t_scratch;

    private readonly Dictionary<int, int> _counts = [];

    /// <summary>The parameters every draw of this sampler uses.</summary>
    public SamplingParameters Parameters { get; } = parameters;

    /// <summary>
    /// Chooses the next token from <paramref name="logits"/> given the <paramref name="context"/> so
    /// far (prompt and output, for the penalties); <paramref name="draw"/> numbers the draw.
    /// </summary>
    public int Sample(ReadOnlySpan<float> logits, ReadOnlySpan<int> context, ulong draw)
    {
        var p = Parameters;
        var scratch = t_scratch ??= new Scratch();
        var n = logits.Length;
        var working = scratch.Working(n);
        logits.CopyTo(working);
        if (p.HasPenalties)
        {
            ApplyPenalties(working.AsSpan(0, n), context);
        }

        var row = working.AsSpan(0, n);
        if (p.IsGreedy)
        {
            return TensorPrimitives.IndexOfMax(row);
        }

        var max = TensorPrimitives.Max(row);
        var order = scratch.Order;
        order.Reset(working, n, max);

        // Survivors are the sorted positions below `kept`; null: every token (no cut applies).
        int? kept = null;
        if (p.TopK > 0 && p.TopK < n && order.EnsureCount(p.TopK))
        {
            // The k-th largest logit and its ties, which share its band.
            var last = SamplingReference.Key(working[order[p.TopK - 1]]);
            var bandEnd = order.BandEndOf(p.TopK - 1);
            var count = p.TopK;
            while (count < bandEnd && SamplingReference.Key(working[order[count]]) == last)
            {
                count++;
            }

            kept = count;
        }

        if (p.TopP < 1f)
        {
            kept = TopP(order, working, n, max, kept, p.TopP, scratch);
        }

        if (p.MinP > 0f)
        {
            kept = MinP(order, working, kept, max + MathF.Log(p.MinP));
        }

        return Draw(order, working, n, max, kept, Philox4x32.Uniform(p.Seed, (uint)draw), scratch);
    }

    /// <summary>
    /// The survivors after top-p over the <paramref name="kept"/> survivors so far (null: all): the
    /// fewest leading tokens, ending after the last of equal logits, whose probabilities at
    /// temperature 1 reach <paramref name="topP"/>. Bands wholly before the cut are summed unsorted.
    /// </summary>
    private static int? TopP(DescendingLogits order, float[] working, int n, float max, int? kept, float topP, Scratch scratch)
    {
        var mass = scratch.Mass(n);
        var total = ExpWeights(order, working, n, max, kept, 1f, mass);
        var limit = kept ?? n;
        double cumulative = 0;
        for (var band = 0; order.HasBand(band, limit); band++)
        {
            var members = Kept(order, band, limit);
            var bandMass = Sum(members, mass);
            if (cumulative + (bandMass / total) < topP)
            {
                cumulative += bandMass / total;
                continue;
            }

            // The cut falls in this band (rounding aside): walk it in order.
            var start = order.BandStart(band);
            var end = start + members.Length;
            for (var j = start; j < end; j++)
            {
                cumulative += mass[order[j]] / total;
                var lastOfTies = j + 1 == end || SamplingReference.Key(working[order[j + 1]]) != SamplingReference.Key(working[order[j]]);
                if (lastOfTies && cumulative >= topP)
                {
                    return j + 1;
                }
            }
        }

        return kept;
    }

    /// <summary>The survivors among the first <paramref name="kept"/> (null: all) whose logit is at least <paramref name="minLogit"/>.</summary>
    private static int MinP(DescendingLogits order, float[] working, int? kept, float minLogit)
    {
        var limit = kept ?? int.MaxValue;
        var count = 0;
        for (var band = 0; order.HasBand(band, limit); band++)
        {
            var end = order.BandStart(band) + Kept(order, band, limit).Length;
            if (order.BandLower(band) >= minLogit)
            {
                count = end; // every logit of the band clears the bar
                continue;
            }

            while (count < end && working[order[count]] >= minLogit)
            {
                count++;
            }

            break;
        }

        return count;
    }

    /// <summary>
    /// Inverts the CDF of the survivors' softmax at the temperature, walking them in sorted order, at
    /// <paramref name="uniform"/> · their total weight; bands wholly before the target are summed unsorted.
    /// </summary>
    private int Draw(DescendingLogits order, float[] working, int n, float max, int? kept, float uniform, Scratch scratch)
    {
        var weights = scratch.Weights(n);
        var target = uniform * ExpWeights(order, working, n, max, kept, Parameters.Temperature, weights);
        double running = 0;
        if (kept is null && order.BandCount == 0)
        {
            // Every token survives: skip the coarse bands before the target by their masked sums,
            // so only the target's band is gathered (and split, and one part of it sorted).
            var coarse = 0;
            for (; coarse < DescendingLogits.BandLimit - 1; coarse++)
            {
                var bandWeight = order.BandSum(coarse, weights);
                if (target < running + bandWeight)
                {
                    break;
                }

                running += bandWeight;
            }

            order.SkipTo(coarse);
        }

        var limit = kept ?? n;
        for (var band = 0; order.HasBand(band, limit); band++)
        {
            var members = Kept(order, band, limit);
            var bandWeight = Sum(members, weights);
            if (!(target < running + bandWeight))
            {
                running += bandWeight;
                continue;
            }

            var start = order.BandStart(band);
            for (var j = start; j < start + members.Length; j++)
            {
                running += weights[order[j]];
                if (target < running)
                {
                    return order[j];
                }
            }
        }

        // Rounding left the target at or past the total: the smallest surviving logit, lowest id
        // (gathered afresh when every token survives, as bands may have been skipped).
        if (kept is null)
        {
            order.Reset(working, n, max);
        }

        order.EnsureCount(limit);
        var last = Math.Min(limit, order.Count) - 1;
        var lastKey = SamplingReference.Key(working[order[last]]);
        while (last > 0 && SamplingReference.Key(working[order[last - 1]]) == lastKey)
        {
            last--;
        }

        return order[last];
    }

    /// <summary>
    /// e^((logit − max) / <paramref name="temperature"/>) into <paramref name="weights"/>[id] for the
    /// first <paramref name="kept"/> sorted survivors (null: every id, in vectorized passes), and their
    /// sum in f64. Top-p weighs at temperature 1, the draw at the request's.
    /// </summary>
    private static double ExpWeights(DescendingLogits order, float[] working, int n, float max, int? kept, float temperature, float[] weights)
    {
        if (kept is int k)
        {
            double sum = 0;
            for (var band = 0; order.HasBand(band, k); band++)
            {
                foreach (var id in Kept(order, band, k))
                {
                    weights[id] = MathF.Exp((working[id] - max) / temperature);
                    sum += weights[id];
                }
            }

            return sum;
        }

        var all = weights.AsSpan(0, n);
        TensorPrimitives.Subtract(working.AsSpan(0, n), max, all);
        if (temperature != 1f)
        {
            TensorPrimitives.Divide(all, temperature, all);
        }

        TensorPrimitives.Exp(all, all);
        return SumAsDouble(all);
    }

    /// <summary>Σ <paramref name="values"/>[id] over <paramref name="ids"/>, in f64.</summary>
    private static double Sum(ReadOnlySpan<int> ids, float[] values)
    {
        double sum = 0;
        foreach (var id in ids)
        {
            sum += values[id];
        }

        return sum;
    }

    /// <summary>
    /// The ids of <paramref name="band"/> at positions below <paramref name="limit"/>: all its members
    /// in any order, or, when the limit cuts it, its sorted leading part.
    /// </summary>
    private static ReadOnlySpan<int> Kept(DescendingLogits order, int band, int limit)
    {
        var members = order.Members(band);
        var start = order.BandStart(band);
        if (start + members.Length <= limit)
        {
            return members;
        }

        _ = order[start]; // sorts the band
        return order.Members(band)[..(limit - start)];
    }

    /// <summary>Σ <paramref name="values"/> accumulated in f64 (four lanes at a time), so the walk's f64 running sum reaches it to within ~1e-16.</summary>
    private static double SumAsDouble(ReadOnlySpan<float> values)
    {
        var acc = Vector256<double>.Zero;
        var i = 0;
        for (; i + Vector256<float>.Count <= values.Length; i += Vector256<float>.Count)
        {
            var (lower, upper) = Vector256.Widen(Vector256.Create(values.Slice(i, Vector256<float>.Count)));
            acc += lower + upper;
        }

        var sum = Vector256.Sum(acc);
        for (; i < values.Length; i++)
        {
            sum += values[i];
        }

        return sum;
    }

    /// <summary>Row-sized buffers, grown to the largest vocabulary seen on the thread.</summary>
    private sealed class Scratch
    {
        private float[] _working = [];
        private float[] _mass = [];
        private float[] _weights = [];

        public DescendingLogits Order { get; } = new();

        public float[] Working(int n) => _working.Length >= n ? _working : _working = new float[n];

        public float[] Mass(int n) => _mass.Length >= n ? _mass : _mass = new float[n];

        public float[] Weights(int n) => _weights.Length >= n ? _weights : _weights = new float[n];
    }

    /// <summary>The tokens of <paramref name="context"/> the penalties count: the last <see cref="SamplingParameters.PenaltyLastN"/> (all when negative).</summary>
    public static ReadOnlySpan<int> PenaltyWindow(SamplingParameters parameters, ReadOnlySpan<int> context) =>
        parameters.PenaltyLastN < 0 ? context : context[Math.Max(0, context.Length - parameters.PenaltyLastN)..];

    private void ApplyPenalties(Span<float> logits, ReadOnlySpan<int> context)
    {
        var p = Parameters;
        var window = PenaltyWindow(p, context);
        _counts.Clear();
        foreach (var token in window)
        {
            _counts[token] = _counts.GetValueOrDefault(token) + 1;
        }

        foreach (var (token, n) in _counts)
        {
            if ((uint)token >= (uint)logits.Length)
            {
                continue;
            }

            var logit = logits[token];
            logit = logit > 0 ? logit / p.RepetitionPenalty : logit * p.RepetitionPenalty;
            logits[token] = logit - (n * p.FrequencyPenalty) - p.PresencePenalty;
        }
    }
}
