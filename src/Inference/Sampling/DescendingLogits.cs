using System.Numerics;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using Mesh.Kernels.Sampling;

namespace Mesh.Inference.Sampling;

/// <summary>
/// The token ids of one logits row in descending logit order (equal logits by ascending id, the order
/// the sample_f32 kernel and <c>SamplingReference</c> walk), gathered lazily one band of logits at a
/// time and each band sorted only when a position inside it is read: band 0 holds the logits within
/// 0.25 of the maximum, band j those in [max − 0.25·2^j, max − 0.25·2^(j−1)), the last everything below
/// max − 64 (masked −∞ logits included); a band of more than 256 ids is split by a counting sort into
/// 16 of equal width. Equal logits always share a band. A cut or a draw reads
/// whole bands by their members (a sum needs no order) and sorts only the band it ends in, so a row of
/// 32k–128k logits costs a few vectorized passes and the sort of one band instead of the sort of the
/// vocabulary (what llama.cpp avoids with its partial sort and bucketed top-p).
/// </summary>
internal sealed class DescendingLogits
{
    private const float FirstBandWidth = 0.25f;
    private const int Bands = 10; // 0.25·2^8 = 64 below the maximum, then the rest

    // A gathered band larger than this is split into up to Splits narrower ones by value (a counting
    // sort on the sub-range), so a cut deep in a wide band sorts a sixteenth of it.
    private const int SplitAbove = 256;
    private const int Splits = 16;

    private readonly int[] _bandStart = new int[(Bands * Splits) + 1];
    private readonly float[] _bandLower = new float[Bands * Splits];
    private readonly bool[] _bandSorted = new bool[Bands * Splits];
    private readonly int[] _splitCounts = new int[Splits];
    private readonly float[] _splitLowest = new float[Splits];
    private readonly int[] _splitFirst = new int[Splits];
    private readonly int[] _splitNext = new int[Splits];
    private int[] _order = [];
    private ulong[] _words = [];
    private int[] _spareOrder = [];
    private ulong[] _spareWords = [];
    private int _coarseGathered;
    private float[] _logits = [];
    private int _length;
    private float _max;

    /// <summary>Bands gathered so far.</summary>
    public int BandCount { get; private set; }

    /// <summary>Ids gathered so far (whole bands): positions below this are readable.</summary>
    public int Count => _bandStart[BandCount];

    /// <summary>
    /// The id at sorted position <paramref name="position"/> (below <see cref="Count"/>); sorts the
    /// band that holds it on first read.
    /// </summary>
    public int this[int position]
    {
        get
        {
            var band = BandOf(position);
            if (!_bandSorted[band])
            {
                Sort(band);
            }

            return _order[position];
        }
    }

    /// <summary>Starts over on <paramref name="logits"/>[0, <paramref name="length"/>) (not copied: it must not change until the next reset), whose maximum is <paramref name="max"/>.</summary>
    public void Reset(float[] logits, int length, float max)
    {
        if (_order.Length < length)
        {
            _order = new int[length];
            _words = new ulong[length];
            _spareOrder = new int[length];
            _spareWords = new ulong[length];
        }

        _logits = logits;
        _length = length;
        _max = max;
        BandCount = 0;
        _coarseGathered = 0;
        _bandStart[0] = 0;
    }

    /// <summary>The ids of band <paramref name="band"/> (gathered), in no particular order unless it was sorted.</summary>
    public ReadOnlySpan<int> Members(int band) => _order.AsSpan(_bandStart[band], _bandStart[band + 1] - _bandStart[band]);

    /// <summary>The first position of band <paramref name="band"/> (gathered).</summary>
    public int BandStart(int band) => _bandStart[band];

    /// <summary>A lower bound of the logits in band <paramref name="band"/> (gathered): every member is at least this.</summary>
    public float BandLower(int band) => _bandLower[band];

    /// <summary>The smallest logit coarse band <paramref name="coarse"/> can hold (−∞ for the last).</summary>
    private float CoarseLower(int coarse) => coarse == Bands - 1 ? float.NegativeInfinity : _max - (FirstBandWidth * (1 << coarse));

    /// <summary>
    /// Whether band <paramref name="band"/> (at most one past the gathered ones) exists and starts
    /// below <paramref name="limit"/>, gathering it first when needed; never gathers past the limit.
    /// </summary>
    public bool HasBand(int band, int limit) =>
        band < BandCount ? _bandStart[band] < limit : Count < limit && GatherNextBand();

    /// <summary>Gathers bands until at least <paramref name="count"/> ids are readable; false when fewer exist.</summary>
    public bool EnsureCount(int count)
    {
        while (Count < count && GatherNextBand())
        {
        }

        return Count >= count;
    }

    /// <summary>Gathers the next coarse band (unsorted, split when wide); false when none is left.</summary>
    public bool GatherNextBand()
    {
        if (_coarseGathered == Bands)
        {
            return false;
        }

        var coarse = _coarseGathered++;
        var lower = CoarseLower(coarse);
        var upper = coarse == 0 ? float.PositiveInfinity : CoarseLower(coarse - 1);
        var start = _bandStart[BandCount];
        var found = Gather(lower, upper, coarse == 0, start);
        if (found <= SplitAbove || !Split(start, found, coarse == 0 ? _max : upper))
        {
            Append(start + found, lower);
        }

        return true;
    }

    private void Append(int end, float lower)
    {
        var band = BandCount++;
        _bandLower[band] = lower;
        _bandStart[band + 1] = end;
        _bandSorted[band] = end - _bandStart[band] <= 1;
    }

    /// <summary>
    /// Splits the <paramref name="count"/> ids gathered at <paramref name="start"/> (logits at most
    /// <paramref name="top"/>) into up to <see cref="Splits"/> bands of equal width down to their
    /// lowest finite logit, −∞ last, by a counting sort; equal logits land in the same band. False
    /// when they cannot be split (all equal).
    /// </summary>
    private bool Split(int start, int count, float top)
    {
        var lowest = float.PositiveInfinity;
        for (var i = start; i < start + count; i++)
        {
            var value = _logits[_order[i]];
            if (value < lowest && !float.IsNegativeInfinity(value))
            {
                lowest = value;
            }
        }

        var width = (top - lowest) / Splits;
        if (!(width > 0) || float.IsInfinity(width))
        {
            return false;
        }

        Array.Clear(_splitCounts);
        _splitLowest.AsSpan().Fill(float.PositiveInfinity);
        for (var i = start; i < start + count; i++)
        {
            var value = _logits[_order[i]];
            var split = SplitOf(value, top, width);
            _splitCounts[split]++;
            _splitLowest[split] = MathF.Min(_splitLowest[split], value);
        }

        var at = start;
        for (var split = 0; split < Splits; split++)
        {
            _splitFirst[split] = _splitNext[split] = at;
            at += _splitCounts[split];
        }

        for (var i = start; i < start + count; i++)
        {
            var position = _splitNext[SplitOf(_logits[_order[i]], top, width)]++;
            _spareOrder[position] = _order[i];
            _spareWords[position] = _words[i];
        }

        _spareOrder.AsSpan(start, count).CopyTo(_order.AsSpan(start));
        _spareWords.AsSpan(start, count).CopyTo(_words.AsSpan(start));
        for (var split = 0; split < Splits; split++)
        {
            if (_splitCounts[split] > 0)
            {
                Append(_splitFirst[split] + _splitCounts[split], _splitLowest[split]);
            }
        }

        return true;
    }

    private static int SplitOf(float value, float top, float width) =>
        float.IsNegativeInfinity(value) ? Splits - 1 : Math.Clamp((int)((top - value) / width), 0, Splits - 1);

    /// <summary>
    /// Σ <paramref name="values"/>[id] (f64) over the ids whose logit lies in band <paramref name="band"/>,
    /// in vectorized passes without gathering them: how a draw over the whole row skips the bands
    /// before its target. Only before any band is gathered.
    /// </summary>
    public double BandSum(int band, float[] values)
    {
        var logits = _logits.AsSpan(0, _length);
        var lower = CoarseLower(band);
        var upper = band == 0 ? float.PositiveInfinity : CoarseLower(band - 1);
        double sum = 0;
        var i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var lo = Vector256.Create(lower);
            var hi = Vector256.Create(upper);
            var acc = Vector256<double>.Zero;
            ref var l = ref MemoryMarshal.GetReference(logits);
            ref var v = ref MemoryMarshal.GetReference(values.AsSpan(0, _length));
            for (; i + Vector256<float>.Count <= logits.Length; i += Vector256<float>.Count)
            {
                var x = Vector256.LoadUnsafe(ref l, (nuint)i);
                var inBand = Vector256.GreaterThanOrEqual(x, lo);
                if (band != 0)
                {
                    inBand &= Vector256.LessThan(x, hi);
                }

                var (low, high) = Vector256.Widen(Vector256.LoadUnsafe(ref v, (nuint)i) & inBand);
                acc += low + high;
            }

            sum = Vector256.Sum(acc);
        }

        for (; i < logits.Length; i++)
        {
            if (logits[i] >= lower && (band == 0 || logits[i] < upper))
            {
                sum += values[i];
            }
        }

        return sum;
    }

    /// <summary>
    /// Skips the coarse bands before <paramref name="coarse"/> (nothing gathered yet): the next
    /// <see cref="GatherNextBand"/> gathers it, at position 0. Positions then no longer count the
    /// skipped ids, which suits a draw that has already summed their weight.
    /// </summary>
    public void SkipTo(int coarse)
    {
        if (BandCount != 0)
        {
            throw new InvalidOperationException("bands were gathered already");
        }

        _coarseGathered = coarse;
    }

    /// <summary>The number of coarse bands a row is cut into (what <see cref="BandSum"/> and <see cref="SkipTo"/> number).</summary>
    public static int BandLimit => Bands;

    /// <summary>The end (exclusive) of the band that holds <paramref name="position"/> (below <see cref="Count"/>).</summary>
    public int BandEndOf(int position) => _bandStart[BandOf(position) + 1];

    private int BandOf(int position)
    {
        var band = 0;
        while (_bandStart[band + 1] <= position)
        {
            band++;
        }

        return band;
    }

    private void Sort(int band)
    {
        var start = _bandStart[band];
        var words = _words.AsSpan(start, _bandStart[band + 1] - start);
        words.Sort();
        for (var i = 0; i < words.Length; i++)
        {
            _order[start + i] = (int)(uint)words[i];
        }

        _bandSorted[band] = true;
    }

    /// <summary>
    /// Appends at <paramref name="at"/> every id whose logit is in [<paramref name="lower"/>,
    /// <paramref name="upper"/>) (no upper bound for the first band), with its sort word
    /// (¬key(logit) ≪ 32 | id: ascending words are descending logits, then ascending ids).
    /// </summary>
    private int Gather(float lower, float upper, bool first, int at)
    {
        var logits = _logits.AsSpan(0, _length);
        var found = 0;
        var i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var lo = Vector256.Create(lower);
            var hi = Vector256.Create(upper);
            ref var start = ref MemoryMarshal.GetReference(logits);
            for (; i + Vector256<float>.Count <= logits.Length; i += Vector256<float>.Count)
            {
                var v = Vector256.LoadUnsafe(ref start, (nuint)i);
                var inBand = Vector256.GreaterThanOrEqual(v, lo);
                if (!first)
                {
                    inBand &= Vector256.LessThan(v, hi);
                }

                var bits = inBand.ExtractMostSignificantBits();
                while (bits != 0)
                {
                    Add(i + BitOperations.TrailingZeroCount(bits), at + found++);
                    bits &= bits - 1;
                }
            }
        }

        for (; i < logits.Length; i++)
        {
            var value = logits[i];
            if (value >= lower && (first || value < upper))
            {
                Add(i, at + found++);
            }
        }

        return found;
    }

    private void Add(int id, int position)
    {
        _order[position] = id;
        _words[position] = ((ulong)~SamplingReference.Key(_logits[id]) << 32) | (uint)id;
    }
}
