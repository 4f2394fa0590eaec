using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Mesh.Inference.Models;
using Mesh.Inference.Models.Gguf;
using static Mesh.Inference.Backends.Cpu.CpuFusedQuantDot;

namespace Mesh.Inference.Backends.Cpu;

/// <summary>
/// The one summation order of the 32-value block types (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0) against Q8_0
/// activations, and its in-place (no scratch) driver.
/// <para>
/// Per row: each block's Σ q_w·q_x is an exact integer (|·| ≤ 32·128·127 &lt; 2²⁴ for Q8_0's −128, so
/// exact as a float too); the row's sum is acc = fma(float(isum_b), d_w·d_x rounded to float, acc) over the blocks in
/// order from +0; the Q4_1/Q5_1 offset term o = Σ_b m_w·(d_x·Σq_x) is summed block by block with a
/// multiply then an add (0 for the types without one), and y = acc + o. Every kernel of these types
/// forms exactly this — the prefill tiles (<see cref="CpuBlockSumTiles"/>, sixteen rows per vector),
/// decode here (eight rows per vector, through vpdpbusd or maddubs/madd), and the scalar and unpack
/// paths of <c>CpuQuantMatMul.DotBlocks</c> — so a token's output does not depend on the batch, the
/// tile, the thread split or whether it was decoded alone (speculative decoding relies on that).
/// It is also seven roundings per block fewer than summing eight int32 lanes per block in float (as
/// Q8_0 once did), and the form of ggml's repacked Q4_0 kernels (one integer per row and block).
/// </para>
/// <para>
/// Decode (and a batch on a CPU without the tiles) takes eight rows per pass: each row's block goes
/// through the kernel's dot product into eight four-value lanes, the eight rows' lanes are reduced
/// to one vector of the eight block sums (a horizontal-add tree, exact), and then one convert, one
/// scale product and one FMA serve all eight rows. A short last pass repeats its last row in the
/// spare slots and stores only its own.
/// </para>
/// </summary>
internal static unsafe class CpuBlockSums
{
    /// <summary>Weight rows per decode pass: the eight lanes of one float vector.</summary>
    public const int Rows = 8;

    /// <summary>
    /// How many rows ahead of a pass its weights are prefetched: the pass after next, as one
    /// contiguous range while this one computes (rows are short — 432 bytes for 768 Q4_0 values, 816 for Q8_0 —
    /// and eight streams of a few lines each never let the hardware prefetcher get ahead).
    /// </summary>
    private const int PrefetchRows = 2 * Rows;

    /// <summary>How one row's 32-value block becomes eight four-value integer sums against the activations.</summary>
    internal interface IQuads
    {
        /// <summary>
        /// The eight four-value sums of (stored value) × q_x for the block at <paramref name="block"/>:
        /// Σ (q_w + bias)·q_x when <see cref="Biased"/>, else Σ q_w·q_x.
        /// </summary>
        static abstract Vector256<int> Quads<T>(byte* block, Vector256<sbyte> v)
            where T : struct, IBlockLayout;

        /// <summary>Whether <see cref="Quads"/> leaves the bias × Σq_x in the sums, for the driver to take off per block.</summary>
        static abstract bool Biased { get; }
    }

    /// <summary>
    /// <see cref="MultiplyRows{T, TQuads}"/> for the layout of <paramref name="w"/>'s type (Q4_0, Q4_1, Q5_0,
    /// Q5_1 or Q8_0): the one dispatch of the AVX2 and the VNNI decode kernels, which differ only in <typeparamref name="TQuads"/>.
    /// </summary>
    /// <exception cref="NotSupportedException"><paramref name="w"/> is of another type.</exception>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void MultiplyRows<TQuads>(WeightMatrix w, CpuActivations x, float* y, int yStride, int rowStart, int rowEnd)
        where TQuads : struct, IQuads
    {
        switch (w.Type)
        {
            case GgmlType.Q4_0:
                MultiplyRows<Q4_0, TQuads>(w, x, y, yStride, rowStart, rowEnd);
                break;
            case GgmlType.Q4_1:
                MultiplyRows<Q4_1, TQuads>(w, x, y, yStride, rowStart, rowEnd);
                break;
            case GgmlType.Q5_0:
                MultiplyRows<Q5_0, TQuads>(w, x, y, yStride, rowStart, rowEnd);
                break;
            case GgmlType.Q5_1:
                MultiplyRows<Q5_1, TQuads>(w, x, y, yStride, rowStart, rowEnd);
                break;
            case GgmlType.Q8_0:
                MultiplyRows<Q8_0, TQuads>(w, x, y, yStride, rowStart, rowEnd);
                break;
            default:
                throw new NotSupportedException($"no block-sum kernel for {w.Type}");
        }
    }

    /// <summary>
    /// Output columns [<paramref name="rowStart"/>, <paramref name="rowEnd"/>) of <paramref name="y"/>
    /// (row stride <paramref name="yStride"/>) for every activation row of <paramref name="x"/>, which
    /// must be quantized: rows of <paramref name="w"/> (layout <typeparamref name="T"/>) read in place,
    /// summed as the class describes. Each group of eight rows serves every token while it is in L1
    /// (decode has one; a batch on a CPU without the prefill tiles, more). <typeparamref name="TQuads"/>
    /// picks the instructions (vpdpbusd or maddubs/madd).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void MultiplyRows<T, TQuads>(WeightMatrix w, CpuActivations x, float* y, int yStride, int rowStart, int rowEnd)
        where T : struct, IBlockLayout
        where TQuads : struct, IQuads
    {
        var cols = w.Cols;
        var blocks = cols / BlockQuants.BlockSize;
        var bytes = (nint)GgmlTypeInfo.BlockBytes(w.Type);
        var rowBytes = (nint)w.RowBytes;
        for (var r = rowStart; r < rowEnd; r += Rows)
        {
            // Spare rows of a short last group repeat its last row: computed, never stored.
            var last = Math.Min(Rows, rowEnd - r) - 1;
            byte* r0 = w.Row(r), r1 = r0 + (Math.Min(1, last) * rowBytes), r2 = r0 + (Math.Min(2, last) * rowBytes), r3 = r0 + (Math.Min(3, last) * rowBytes);
            byte* r4 = r0 + (Math.Min(4, last) * rowBytes), r5 = r0 + (Math.Min(5, last) * rowBytes), r6 = r0 + (Math.Min(6, last) * rowBytes), r7 = r0 + (last * rowBytes);
            var ahead = r0 + (PrefetchRows * rowBytes);
            for (var t = 0; t < x.Rows; t++)
            {
                var xq = x.Q8 + ((nint)t * cols);
                var xd = x.Q8Scales + ((nint)t * blocks);
                var xOffsets = x.Q8Offsets + ((nint)t * blocks);
                var xNegated = x.Q8BlockSumsNegated + ((nint)t * blocks);
                Vector256<float> acc = default, offset = default;
                for (var b = 0; b < blocks; b++)
                {
                    var v = Avx.LoadVector256(xq + (b * BlockQuants.BlockSize));
                    var o = b * bytes;
                    if (t == 0)
                    {
                        // A pass reads 8 × bytes per step: ≤ 192 for the 4/5-bit types, three lines;
                        // 272 for Q8_0, five.
                        Sse.Prefetch0(ahead + (Rows * o));
                        Sse.Prefetch0(ahead + (Rows * o) + 64);
                        Sse.Prefetch0(ahead + (Rows * o) + 128);
                        if (T.HasByteQuants)
                        {
                            Sse.Prefetch0(ahead + (Rows * o) + 192);
                            Sse.Prefetch0(ahead + (Rows * o) + 256);
                        }
                    }

                    var isum = Reduce(
                        TQuads.Quads<T>(r0 + o, v), TQuads.Quads<T>(r1 + o, v), TQuads.Quads<T>(r2 + o, v), TQuads.Quads<T>(r3 + o, v),
                        TQuads.Quads<T>(r4 + o, v), TQuads.Quads<T>(r5 + o, v), TQuads.Quads<T>(r6 + o, v), TQuads.Quads<T>(r7 + o, v));
                    if (TQuads.Biased && T.BiasShift != 0)
                    {
                        isum = Avx2.Add(isum, Vector256.Create(xNegated[b] << T.BiasShift));
                    }

                    var d = Halves(r0 + o, r1 + o, r2 + o, r3 + o, r4 + o, r5 + o, r6 + o, r7 + o);
                    acc = Fma.MultiplyAdd(Avx.ConvertToVector256Single(isum), Avx.Multiply(d, Vector256.Create(xd[b])), acc);
                    if (T.HasOffset)
                    {
                        var m = Halves(r0 + o + 2, r1 + o + 2, r2 + o + 2, r3 + o + 2, r4 + o + 2, r5 + o + 2, r6 + o + 2, r7 + o + 2);
                        offset = Avx.Add(offset, Avx.Multiply(m, Vector256.Create(xOffsets[b])));
                    }
                }

                Store(Avx.Add(acc, offset), y + ((nint)t * yStride) + r, last + 1);
            }
        }
    }

    /// <summary>
    /// Lane i = the sum of the eight lanes of <paramref name="s0"/> … <paramref name="s7"/>'s i-th
    /// (exact: integers; their order does not matter): two rounds of horizontal adds within the
    /// 128-bit halves, then the halves' partial sums of rows 0–3 and 4–7 added across.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> Reduce(
        Vector256<int> s0, Vector256<int> s1, Vector256<int> s2, Vector256<int> s3,
        Vector256<int> s4, Vector256<int> s5, Vector256<int> s6, Vector256<int> s7)
    {
        var low = Avx2.HorizontalAdd(Avx2.HorizontalAdd(s0, s1), Avx2.HorizontalAdd(s2, s3));
        var high = Avx2.HorizontalAdd(Avx2.HorizontalAdd(s4, s5), Avx2.HorizontalAdd(s6, s7));
        return Avx2.Add(Avx2.Permute2x128(low, high, 0x20), Avx2.Permute2x128(low, high, 0x31));
    }

    /// <summary>Eight f16 values (a block's scale or offset in eight rows) as floats.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Halves(byte* h0, byte* h1, byte* h2, byte* h3, byte* h4, byte* h5, byte* h6, byte* h7) =>
        Vector256.Create(
            HalfTable.ToSingle(*(ushort*)h0), HalfTable.ToSingle(*(ushort*)h1), HalfTable.ToSingle(*(ushort*)h2), HalfTable.ToSingle(*(ushort*)h3),
            HalfTable.ToSingle(*(ushort*)h4), HalfTable.ToSingle(*(ushort*)h5), HalfTable.ToSingle(*(ushort*)h6), HalfTable.ToSingle(*(ushort*)h7));

    /// <summary>The first <paramref name="count"/> (1–8) lanes of <paramref name="v"/> to y[0 … count − 1].</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(Vector256<float> v, float* y, int count)
    {
        if (count == Rows)
        {
            Avx.Store(y, v);
            return;
        }

        for (var i = 0; i < count; i++)
        {
            y[i] = v.GetElement(i);
        }
    }

    /// <summary>vpdpbusd on the stored values (q_w + bias, unsigned): one instruction per block and row.</summary>
    internal struct VnniQuads : IQuads
    {
        public static bool Biased => true;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<int> Quads<T>(byte* block, Vector256<sbyte> v)
            where T : struct, IBlockLayout =>
            AvxVnni.MultiplyWideningAndAdd(Vector256<int>.Zero, Values<T>(block), v);
    }

    /// <summary>
    /// AVX2: maddubs then madd on q_w with its sign moved onto the activations. The pairs cannot
    /// saturate: |q_w| ≤ 128 (Q8_0's −128) and the activations are quantized to [−127, 127]
    /// (<see cref="CpuActivations.EnsureQuantized"/>), so a pair is at most 2·128·127 = 32,512.
    /// </summary>
    internal struct Avx2Quads : IQuads
    {
        public static bool Biased => false;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<int> Quads<T>(byte* block, Vector256<sbyte> v)
            where T : struct, IBlockLayout
        {
            var q = T.HasByteQuants
                ? Avx.LoadVector256((sbyte*)(block + T.NibbleOffset))
                : Avx2.Subtract(Values<T>(block).AsSByte(), Vector256.Create(T.Bias));
            return Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(Avx2.Sign(q, q).AsByte(), Avx2.Sign(v, q)), Vector256.Create((short)1));
        }
    }

    /// <summary>
    /// A block's 32 stored values (0–15, or 0–31 with the fifth bits; Q8_0's quants read as unsigned,
    /// q ^ 0x80 = q + 128): low nibbles are values 0–15, high nibbles 16–31. The 16 packed bytes are
    /// loaded into both halves at once and the upper half shifted by a nibble per int32 (bits a byte's
    /// neighbour shifts in are masked off): one load and two operations, where building the halves
    /// apart took four.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector256<byte> Values<T>(byte* block)
        where T : struct, IBlockLayout
    {
        if (T.HasByteQuants)
        {
            return Avx2.Xor(Avx.LoadVector256(block + T.NibbleOffset), Vector256.Create((byte)0x80));
        }

        var packed = Avx2.BroadcastVector128ToVector256(block + T.NibbleOffset).AsUInt32();
        var q = Avx2.And(Avx2.ShiftRightLogicalVariable(packed, Vector256.Create(0u, 0, 0, 0, 4, 4, 4, 4)).AsByte(), Vector256.Create((byte)0x0F));
        if (T.HasFifthBit)
        {
            q = Avx2.Or(q, FifthBits(*(uint*)(block + T.NibbleOffset - 4)));
        }

        return q;
    }
}
