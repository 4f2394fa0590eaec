using System.Numerics;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Mesh.Inference.Sampling;

/// <summary>
/// The token ids of one logits row in descending logit order (equal logits by ascending id, the order
/// the sample_f32 kernel and <c>SamplingReference</c> walk), gathered lazily one band of logits at a
/// time and each band sorted only when a position inside it is read: band 0 holds the logits within
/// 0.25 of the maximum, band j those in [max − 0.25·2^j, max − 0.25·2^(j−1)), the last everything below
/// max − 64 (masked −∞ logits included). Equal logits always share a band. A cut or a draw reads
/// whole bands by their members (a sum needs no order) and sorts only the band it ends in, so a row of
/// 32k–128k logits costs a few vectorized passes and the sort of one band instead of the sort of the
/// vocabulary (what llama.cpp avoids with its partial sort and bucketed top-p).
/// </summary>
internal sealed class DescendingLogits
{
    private const float FirstBandWidth = 0.25f;
    private const int Bands = 10; // 0.25·2^8 = 64 below the maximum, then the rest

    private readonly int[] _bandStart = new int[Bands + 1];
    private readonly bool[] _bandSorted = new bool[Bands];
    private int[] _order = [];
    private ulong[] _words = [];
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
        }

        _logits = logits;
        _length = length;
        _max = max;
        BandCount = 0;
        _bandStart[0] = 0;
    }

    /// <summary>The ids of band <paramref name="band"/> (gathered), in no particular order unless it was sorted.</summary>
    public ReadOnlySpan<int> Members(int band) => _order.AsSpan(_bandStart[band], _bandStart[band + 1] - _bandStart[band]);

    /// <summary>The first position of band <paramref name="band"/> (gathered).</summary>
    public int BandStart(int band) => _bandStart[band];

    /// <summary>The smallest logit band <paramref name="band"/> can hold (−∞ for the last).</summary>
    public float BandLower(int band) => band == Bands - 1 ? float.NegativeInfinity : _max - (FirstBandWidth * (1 << band));

    /// <summary>Gathers bands until at least <paramref name="count"/> ids are readable; false when fewer exist.</summary>
    public bool EnsureCount(int count)
    {
        while (Count < count && GatherNextBand())
        {
        }

        return Count >= count;
    }

    /// <summary>Gathers the next band (unsorted); false when none is left.</summary>
    public bool GatherNextBand()
    {
        if (BandCount == Bands)
        {
            return false;
        }

        var band = BandCount;
        var upper = band == 0 ? float.PositiveInfinity : BandLower(band - 1);
        var found = Gather(BandLower(band), upper, band == 0, _bandStart[band]);
        _bandSorted[band] = found <= 1;
        _bandStart[band + 1] = _bandStart[band] + found;
        BandCount++;
        return true;
    }

    /// <summary>
    /// Σ <paramref name="values"/>[id] (f64) over the ids whose logit lies in band <paramref name="band"/>,
    /// in vectorized passes without gathering them: how a draw over the whole row skips the bands
    /// before its target. Only before any band is gathered.
    /// </summary>
    public double BandSum(int band, float[] values)
    {
        var logits = _logits.AsSpan(0, _length);
        var lower = BandLower(band);
        var upper = band == 0 ? float.PositiveInfinity : BandLower(band - 1);
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
    /// The ids of band <paramref name="band"/> alone, sorted, skipping the bands before it; the row's
    /// order is used up (a <see cref="Reset"/> must come before any other read).
    /// </summary>
    public ReadOnlySpan<int> TakeBand(int band)
    {
        var upper = band == 0 ? float.PositiveInfinity : BandLower(band - 1);
        var found = Gather(BandLower(band), upper, band == 0, 0);
        var words = _words.AsSpan(0, found);
        words.Sort();
        for (var i = 0; i < found; i++)
        {
            _order[i] = (int)(uint)words[i];
        }

        BandCount = 0;
        return _order.AsSpan(0, found);
    }

    /// <summary>The number of bands a row is cut into.</summary>
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
        _words[position] = ((ulong)~Key(_logits[id]) << 32) | (uint)id;
    }

    /// <summary>An unsigned key with the order of the floats (−0 below +0), as the kernel compares them.</summary>
    public static uint Key(float value)
    {
        var bits = BitConverter.SingleToUInt32Bits(value);
        return (bits & 0x80000000) != 0 ? ~bits : bits | 0x80000000;
    }
}
