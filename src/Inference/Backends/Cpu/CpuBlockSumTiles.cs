using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Mesh.Inference.Models;
using Mesh.Inference.Models.Gguf;

namespace Mesh.Inference.Backends.Cpu;

/// <summary>
/// y = x · Wᵀ for a batch (two or more activation rows) of the 32-value block types (Q4_0, Q4_1,
/// Q5_0, Q5_1, Q8_0) against Q8_0 activations: the int8 register tile of prefill, sixteen weight rows
/// × four tokens, one exact integer per (row, token, block), summed in <see cref="CpuBlockSums"/>' order.
/// <para>
/// Sixteen rows are unpacked once into the thread's scratch, interleaved four bytes at a time (vector j
/// of a block holds group j of the sixteen rows, lane = row — the layout of ggml's repacked q4_0_8x8,
/// twice as wide), as stored (0–15 or 0–31; Q8_0 as q + 128, 0–255). Per block and token, each of the
/// eight groups of four activation quants is broadcast and multiplied into all sixteen rows at once,
/// and one convert, one scale product (the panel's sixteen d_w times d_x) and one FMA then serve
/// sixteen rows. For the 4/5-bit types the multiply is one 512-bit vpmaddubsw whose small stored
/// values let the pair sums accumulate in int16 before one vpmaddwd widens them (see <see cref="Step"/>):
/// 8 vpmaddubsw + 1–2 vpmaddwd on zmm per 512 multiply-adds, where an eight-row ymm tile of vpdpbusd
/// took 16 (measured 1.65–1.75× faster at 64–128 tokens on Zen 5). Q8_0's bytes would saturate
/// vpmaddubsw's pairs, so it takes two 256-bit vpdpbusd per group (<see cref="ByteTile{TTokens}"/>;
/// .NET 10 has no 512-bit vpdpbusd), and still one float epilogue per sixteen rows, where the
/// four-row tile it replaced spent one per two rows and eight lanes (1.6–1.8× faster at 64–128 tokens).
/// Nothing is repacked at load: the panel is per-thread scratch, refilled per sixteen rows.
/// </para>
/// <para>
/// A token's result therefore does not depend on the batch around it, on the tile that holds it, on
/// the thread split or on whether it was decoded alone. The 512-bit steps and the operands need
/// AVX-512 (and its 32 vector registers) and Q8_0 needs AVX-VNNI; other CPUs keep the in-place
/// eight-row kernels of <see cref="CpuBlockSums"/>.
/// </para>
/// </summary>
internal static unsafe class CpuBlockSumTiles
{
    /// <summary>Weight rows per panel: the sixteen lanes of one 512-bit vector.</summary>
    private const int Rows16 = 16;

    private const int Block = BlockQuants.BlockSize;

    /// <summary>The bytes of one block of the sixteen interleaved rows.</summary>
    private const int PanelBlock = Rows16 * Block;

    /// <summary>
    /// Whether this CPU runs the tile: AVX-512F/BW for the 512-bit byte products, float steps and 32
    /// vector registers, and AVX-VNNI for Q8_0's vpdpbusd.
    /// </summary>
    public static bool IsSupported => Avx512F.IsSupported && Avx512BW.IsSupported && CpuVnniQuantDot.IsSupported;

    /// <summary>
    /// Floats of scratch a thread needs for the panel of a <paramref name="cols"/>-wide matrix: 16 · cols
    /// bytes of quants, 32 floats of scales and offsets per block, and 64 bytes of slack to align the
    /// panel to a cache line.
    /// </summary>
    public static int ScratchFloats(int cols) => (((16 * cols) + (32 * sizeof(float) * (cols / Block)) + 64) / sizeof(float)) + 1;

    /// <summary>
    /// Output columns [<paramref name="rowStart"/>, <paramref name="rowEnd"/>) of <paramref name="y"/>
    /// (row stride <paramref name="yStride"/>) for every activation row of <paramref name="x"/>, which
    /// must be quantized (<see cref="CpuActivations.EnsureQuantized"/>). The range may start and end
    /// anywhere: a last group of fewer than sixteen rows repeats its last row in the spare lanes and
    /// stores only its own outputs. <paramref name="scratch"/> holds ≥ <see cref="ScratchFloats"/>(Cols).
    /// Requires <see cref="IsSupported"/>.
    /// </summary>
    /// <exception cref="NotSupportedException"><paramref name="w"/> is not of a 32-value block type.</exception>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Rows(WeightMatrix w, CpuActivations x, float* y, int yStride, int rowStart, int rowEnd, Span<float> scratch)
    {
        fixed (float* room = scratch)
        {
            var panel = (byte*)(((nint)room + 63) & ~(nint)63);
            switch (w.Type)
            {
                case GgmlType.Q4_0:
                    Rows<CpuFusedQuantDot.Q4_0>(w, x, y, yStride, rowStart, rowEnd, panel);
                    break;
                case GgmlType.Q4_1:
                    Rows<CpuFusedQuantDot.Q4_1>(w, x, y, yStride, rowStart, rowEnd, panel);
                    break;
                case GgmlType.Q5_0:
                    Rows<CpuFusedQuantDot.Q5_0>(w, x, y, yStride, rowStart, rowEnd, panel);
                    break;
                case GgmlType.Q5_1:
                    Rows<CpuFusedQuantDot.Q5_1>(w, x, y, yStride, rowStart, rowEnd, panel);
                    break;
                case GgmlType.Q8_0:
                    Rows<CpuFusedQuantDot.Q8_0>(w, x, y, yStride, rowStart, rowEnd, panel);
                    break;
                default:
                    throw new NotSupportedException($"no block-sum tile for {w.Type}");
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Rows<T>(WeightMatrix w, CpuActivations x, float* y, int yStride, int rowStart, int rowEnd, byte* panel)
        where T : struct, CpuFusedQuantDot.IBlockLayout
    {
        var blocks = w.Cols / Block;
        var n = x.Rows;
        var scales = (float*)(panel + (16 * w.Cols));
        var offsets = scales + (16 * blocks);
        for (var r = rowStart; r < rowEnd; r += Rows16)
        {
            // Rows 0–7 of the group fill the lower half of each 64-byte vector, rows 8–15 the upper;
            // spare rows of a short last group repeat its last row: computed, never stored.
            var valid = Math.Min(Rows16, rowEnd - r);
            Unpack8<T>(w, r, r + valid - 1, blocks, panel, scales, offsets);
            Unpack8<T>(w, Math.Min(r + 8, r + valid - 1), r + valid - 1, blocks, panel + 32, scales + 8, offsets + 8);
            // The next sixteen rows are fetched into L2 while this group computes, so the next unpack
            // does not wait on memory (a few hundred bytes a row: too short a stream for the hardware prefetcher).
            if (r + Rows16 < rowEnd)
            {
                var next = w.Row(r + Rows16);
                var bytes = (nint)Math.Min(Rows16, rowEnd - r - Rows16) * w.RowBytes;
                for (nint at = 0; at < bytes; at += 64)
                {
                    Sse.Prefetch1(next + at);
                }
            }

            var b = 0;
            for (; b + 4 <= n; b += 4)
            {
                Tile<T, Four>(panel, scales, offsets, x, b, blocks, y + ((nint)b * yStride) + r, yStride, valid);
            }

            // The tokens left over take the same rows while they are still in L1.
            for (; b < n; b++)
            {
                Tile<T, One>(panel, scales, offsets, x, b, blocks, y + ((nint)b * yStride) + r, yStride, valid);
            }
        }
    }

    /// <summary>
    /// Rows r … r + 7 (those past <paramref name="last"/> repeat it) into one half of the panel: for
    /// block b, the 32 bytes at panel + 512·b + 64·j hold four-value group j of the eight rows, lane i
    /// row i, as stored (0–15, or 0–31 with the fifth bits; Q8_0's q + 128, <see cref="CpuBlockSums.Values{T}"/>);
    /// scales[16·b + i] is row i's d_w and, for
    /// Q4_1/Q5_1, offsets[16·b + i] its m_w. The caller passes the upper half at panel + 32,
    /// scales + 8 and offsets + 8.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Unpack8<T>(WeightMatrix w, int r, int last, int blocks, byte* panel, float* scales, float* offsets)
        where T : struct, CpuFusedQuantDot.IBlockLayout
    {
        var bytes = (nint)GgmlTypeInfo.BlockBytes(w.Type);
        byte* r0 = w.Row(r), r1 = w.Row(Math.Min(r + 1, last)), r2 = w.Row(Math.Min(r + 2, last)), r3 = w.Row(Math.Min(r + 3, last));
        byte* r4 = w.Row(Math.Min(r + 4, last)), r5 = w.Row(Math.Min(r + 5, last)), r6 = w.Row(Math.Min(r + 6, last)), r7 = w.Row(Math.Min(r + 7, last));
        for (var b = 0; b < blocks; b++)
        {
            var o = b * bytes;
            var u0 = CpuBlockSums.Values<T>(r0 + o).AsInt32();
            var u1 = CpuBlockSums.Values<T>(r1 + o).AsInt32();
            var u2 = CpuBlockSums.Values<T>(r2 + o).AsInt32();
            var u3 = CpuBlockSums.Values<T>(r3 + o).AsInt32();
            var u4 = CpuBlockSums.Values<T>(r4 + o).AsInt32();
            var u5 = CpuBlockSums.Values<T>(r5 + o).AsInt32();
            var u6 = CpuBlockSums.Values<T>(r6 + o).AsInt32();
            var u7 = CpuBlockSums.Values<T>(r7 + o).AsInt32();
            // An 8 × 8 transpose of int32: vector j, lane i = four-value group j of row i.
            var t0 = Avx2.UnpackLow(u0, u1);
            var t1 = Avx2.UnpackHigh(u0, u1);
            var t2 = Avx2.UnpackLow(u2, u3);
            var t3 = Avx2.UnpackHigh(u2, u3);
            var t4 = Avx2.UnpackLow(u4, u5);
            var t5 = Avx2.UnpackHigh(u4, u5);
            var t6 = Avx2.UnpackLow(u6, u7);
            var t7 = Avx2.UnpackHigh(u6, u7);
            var s0 = Avx2.UnpackLow(t0.AsInt64(), t2.AsInt64());
            var s1 = Avx2.UnpackHigh(t0.AsInt64(), t2.AsInt64());
            var s2 = Avx2.UnpackLow(t1.AsInt64(), t3.AsInt64());
            var s3 = Avx2.UnpackHigh(t1.AsInt64(), t3.AsInt64());
            var s4 = Avx2.UnpackLow(t4.AsInt64(), t6.AsInt64());
            var s5 = Avx2.UnpackHigh(t4.AsInt64(), t6.AsInt64());
            var s6 = Avx2.UnpackLow(t5.AsInt64(), t7.AsInt64());
            var s7 = Avx2.UnpackHigh(t5.AsInt64(), t7.AsInt64());
            var p = panel + (b * PanelBlock);
            Avx.Store((long*)p, Avx2.Permute2x128(s0, s4, 0x20));
            Avx.Store((long*)(p + 64), Avx2.Permute2x128(s1, s5, 0x20));
            Avx.Store((long*)(p + 128), Avx2.Permute2x128(s2, s6, 0x20));
            Avx.Store((long*)(p + 192), Avx2.Permute2x128(s3, s7, 0x20));
            Avx.Store((long*)(p + 256), Avx2.Permute2x128(s0, s4, 0x31));
            Avx.Store((long*)(p + 320), Avx2.Permute2x128(s1, s5, 0x31));
            Avx.Store((long*)(p + 384), Avx2.Permute2x128(s2, s6, 0x31));
            Avx.Store((long*)(p + 448), Avx2.Permute2x128(s3, s7, 0x31));
            var d = scales + (b * 16);
            d[0] = HalfTable.ToSingle(*(ushort*)(r0 + o));
            d[1] = HalfTable.ToSingle(*(ushort*)(r1 + o));
            d[2] = HalfTable.ToSingle(*(ushort*)(r2 + o));
            d[3] = HalfTable.ToSingle(*(ushort*)(r3 + o));
            d[4] = HalfTable.ToSingle(*(ushort*)(r4 + o));
            d[5] = HalfTable.ToSingle(*(ushort*)(r5 + o));
            d[6] = HalfTable.ToSingle(*(ushort*)(r6 + o));
            d[7] = HalfTable.ToSingle(*(ushort*)(r7 + o));
            if (T.HasOffset)
            {
                var m = offsets + (b * 16);
                m[0] = HalfTable.ToSingle(*(ushort*)(r0 + o + 2));
                m[1] = HalfTable.ToSingle(*(ushort*)(r1 + o + 2));
                m[2] = HalfTable.ToSingle(*(ushort*)(r2 + o + 2));
                m[3] = HalfTable.ToSingle(*(ushort*)(r3 + o + 2));
                m[4] = HalfTable.ToSingle(*(ushort*)(r4 + o + 2));
                m[5] = HalfTable.ToSingle(*(ushort*)(r5 + o + 2));
                m[6] = HalfTable.ToSingle(*(ushort*)(r6 + o + 2));
                m[7] = HalfTable.ToSingle(*(ushort*)(r7 + o + 2));
            }
        }
    }

    /// <summary>
    /// The sixteen panel rows times activation rows <paramref name="token"/> … + <typeparamref name="TTokens"/>
    /// − 1: y[t·yStride + i] for the first <paramref name="valid"/> rows i; one 16-lane accumulator
    /// per token, lane i row i.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Tile<T, TTokens>(byte* panel, float* scales, float* offsets, CpuActivations x, int token, int blocks, float* y, int yStride, int valid)
        where T : struct, CpuFusedQuantDot.IBlockLayout
        where TTokens : struct, IStaticCount
    {
        if (T.HasByteQuants)
        {
            ByteTile<TTokens>(panel, scales, x, token, blocks, y, yStride, valid);
            return;
        }

        var cols = blocks * Block;
        var q0 = x.Q8 + ((nint)token * cols);
        var n0 = x.Q8BlockSumsNegated + ((nint)token * blocks);
        var s0 = x.Q8Scales + ((nint)token * blocks);
        nint qStride = cols, sStride = blocks;
        Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
        for (var b = 0; b < blocks; b++)
        {
            var p = panel + ((nint)b * PanelBlock);
            var w0 = Avx512F.LoadVector512(p);
            var w1 = Avx512F.LoadVector512(p + 64);
            var w2 = Avx512F.LoadVector512(p + 128);
            var w3 = Avx512F.LoadVector512(p + 192);
            var w4 = Avx512F.LoadVector512(p + 256);
            var w5 = Avx512F.LoadVector512(p + 320);
            var w6 = Avx512F.LoadVector512(p + 384);
            var w7 = Avx512F.LoadVector512(p + 448);
            var d = Avx512F.LoadVector512(scales + ((nint)b * 16));
            var q = q0 + ((nint)b * Block);
            a0 = Step<T>(w0, w1, w2, w3, w4, w5, w6, w7, q, n0 + b, s0 + b, d, a0);
            if (TTokens.Count > 1)
            {
                a1 = Step<T>(w0, w1, w2, w3, w4, w5, w6, w7, q + qStride, n0 + sStride + b, s0 + sStride + b, d, a1);
                a2 = Step<T>(w0, w1, w2, w3, w4, w5, w6, w7, q + (2 * qStride), n0 + (2 * sStride) + b, s0 + (2 * sStride) + b, d, a2);
                a3 = Step<T>(w0, w1, w2, w3, w4, w5, w6, w7, q + (3 * qStride), n0 + (3 * sStride) + b, s0 + (3 * sStride) + b, d, a3);
            }
        }

        var m0 = x.Q8Offsets + ((nint)token * blocks);
        Finish<T>(a0, offsets, m0, blocks, y, valid);
        if (TTokens.Count > 1)
        {
            Finish<T>(a1, offsets, m0 + sStride, blocks, y + yStride, valid);
            Finish<T>(a2, offsets, m0 + (2 * sStride), blocks, y + (2 * (nint)yStride), valid);
            Finish<T>(a3, offsets, m0 + (3 * sStride), blocks, y + (3 * (nint)yStride), valid);
        }
    }

    /// <summary>
    /// One token's block for the sixteen rows: each group j of four activation quants broadcast, one
    /// vpmaddubsw against the rows' group j gives two int16 pair sums per row; the eight groups' pairs
    /// are added in int16 (|Σ| ≤ 16·15·127 = 30,480 for the 4-bit types; the 5-bit ones, up to
    /// 16·31·127, add four groups at a time), one vpmaddwd with ones widens them to the row's int32,
    /// and −bias·Σq_x (<see cref="CpuActivations.Q8BlockSumsNegated"/>) makes it Σ q_w·q_x exactly;
    /// then acc = fma(float(sum), d_w·d_x rounded, acc).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Step<T>(
        Vector512<byte> w0, Vector512<byte> w1, Vector512<byte> w2, Vector512<byte> w3,
        Vector512<byte> w4, Vector512<byte> w5, Vector512<byte> w6, Vector512<byte> w7,
        sbyte* q, int* negatedSum, float* xScale, Vector512<float> d, Vector512<float> acc)
        where T : struct, CpuFusedQuantDot.IBlockLayout
    {
        var p0 = Avx512BW.MultiplyAddAdjacent(w0, Vector512.Create(*(int*)q).AsSByte());
        var p1 = Avx512BW.MultiplyAddAdjacent(w1, Vector512.Create(*(int*)(q + 4)).AsSByte());
        var p2 = Avx512BW.MultiplyAddAdjacent(w2, Vector512.Create(*(int*)(q + 8)).AsSByte());
        var p3 = Avx512BW.MultiplyAddAdjacent(w3, Vector512.Create(*(int*)(q + 12)).AsSByte());
        var p4 = Avx512BW.MultiplyAddAdjacent(w4, Vector512.Create(*(int*)(q + 16)).AsSByte());
        var p5 = Avx512BW.MultiplyAddAdjacent(w5, Vector512.Create(*(int*)(q + 20)).AsSByte());
        var p6 = Avx512BW.MultiplyAddAdjacent(w6, Vector512.Create(*(int*)(q + 24)).AsSByte());
        var p7 = Avx512BW.MultiplyAddAdjacent(w7, Vector512.Create(*(int*)(q + 28)).AsSByte());
        var ones = Vector512.Create((short)1);
        Vector512<int> sum;
        if (T.HasFifthBit)
        {
            sum = Avx512F.Add(
                Avx512BW.MultiplyAddAdjacent(Avx512BW.Add(Avx512BW.Add(p0, p1), Avx512BW.Add(p2, p3)), ones),
                Avx512BW.MultiplyAddAdjacent(Avx512BW.Add(Avx512BW.Add(p4, p5), Avx512BW.Add(p6, p7)), ones));
        }
        else
        {
            sum = Avx512BW.MultiplyAddAdjacent(Avx512BW.Add(Avx512BW.Add(Avx512BW.Add(p0, p1), Avx512BW.Add(p2, p3)), Avx512BW.Add(Avx512BW.Add(p4, p5), Avx512BW.Add(p6, p7))), ones);
        }

        if (T.BiasShift != 0)
        {
            sum = Avx512F.Add(sum, Vector512.ShiftLeft(Vector512.Create(*negatedSum), T.BiasShift));
        }

        return Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(sum), Avx512F.Multiply(d, Vector512.Create(*xScale)), acc);
    }

    /// <summary>
    /// <see cref="Tile{T, TTokens}"/> for Q8_0, whose panel holds q_w + 128 (0–255): a vpmaddubsw pair
    /// could reach 2·255·127 and saturate, so each group j of four activation quants goes into two
    /// 256-bit vpdpbusd (rows 0–7, rows 8–15), which sum into int32 lanes without saturating, starting
    /// from the block's correction −128·Σq_x (<see cref="CpuActivations.Q8BlockSumsNegated"/>), so that
    /// each lane ends as the row's exact Σ q_w·q_x; the two halves then join one 512-bit vector for the
    /// convert, the scale product and the FMA, which serve sixteen rows. The sixteen weight vectors of
    /// a block stay in registers for the four tokens (reloading them per token measured 0.7× as fast).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ByteTile<TTokens>(byte* panel, float* scales, CpuActivations x, int token, int blocks, float* y, int yStride, int valid)
        where TTokens : struct, IStaticCount
    {
        var cols = blocks * Block;
        var q0 = x.Q8 + ((nint)token * cols);
        var n0 = x.Q8BlockSumsNegated + ((nint)token * blocks);
        var s0 = x.Q8Scales + ((nint)token * blocks);
        nint qStride = cols, sStride = blocks;
        Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
        for (var b = 0; b < blocks; b++)
        {
            var p = panel + ((nint)b * PanelBlock);
            var l0 = Avx.LoadVector256(p);
            var h0 = Avx.LoadVector256(p + 32);
            var l1 = Avx.LoadVector256(p + 64);
            var h1 = Avx.LoadVector256(p + 96);
            var l2 = Avx.LoadVector256(p + 128);
            var h2 = Avx.LoadVector256(p + 160);
            var l3 = Avx.LoadVector256(p + 192);
            var h3 = Avx.LoadVector256(p + 224);
            var l4 = Avx.LoadVector256(p + 256);
            var h4 = Avx.LoadVector256(p + 288);
            var l5 = Avx.LoadVector256(p + 320);
            var h5 = Avx.LoadVector256(p + 352);
            var l6 = Avx.LoadVector256(p + 384);
            var h6 = Avx.LoadVector256(p + 416);
            var l7 = Avx.LoadVector256(p + 448);
            var h7 = Avx.LoadVector256(p + 480);
            var d = Avx512F.LoadVector512(scales + ((nint)b * 16));
            var q = q0 + ((nint)b * Block);
            a0 = ByteStep(l0, h0, l1, h1, l2, h2, l3, h3, l4, h4, l5, h5, l6, h6, l7, h7, q, n0[b], s0[b], d, a0);
            if (TTokens.Count > 1)
            {
                a1 = ByteStep(l0, h0, l1, h1, l2, h2, l3, h3, l4, h4, l5, h5, l6, h6, l7, h7, q + qStride, n0[sStride + b], s0[sStride + b], d, a1);
                a2 = ByteStep(l0, h0, l1, h1, l2, h2, l3, h3, l4, h4, l5, h5, l6, h6, l7, h7, q + (2 * qStride), n0[(2 * sStride) + b], s0[(2 * sStride) + b], d, a2);
                a3 = ByteStep(l0, h0, l1, h1, l2, h2, l3, h3, l4, h4, l5, h5, l6, h6, l7, h7, q + (3 * qStride), n0[(3 * sStride) + b], s0[(3 * sStride) + b], d, a3);
            }
        }

        Finish<CpuFusedQuantDot.Q8_0>(a0, null, null, blocks, y, valid);
        if (TTokens.Count > 1)
        {
            Finish<CpuFusedQuantDot.Q8_0>(a1, null, null, blocks, y + yStride, valid);
            Finish<CpuFusedQuantDot.Q8_0>(a2, null, null, blocks, y + (2 * (nint)yStride), valid);
            Finish<CpuFusedQuantDot.Q8_0>(a3, null, null, blocks, y + (3 * (nint)yStride), valid);
        }
    }

    /// <summary>One token's Q8_0 block for the sixteen rows (see <see cref="ByteTile{TTokens}"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> ByteStep(
        Vector256<byte> l0, Vector256<byte> h0, Vector256<byte> l1, Vector256<byte> h1,
        Vector256<byte> l2, Vector256<byte> h2, Vector256<byte> l3, Vector256<byte> h3,
        Vector256<byte> l4, Vector256<byte> h4, Vector256<byte> l5, Vector256<byte> h5,
        Vector256<byte> l6, Vector256<byte> h6, Vector256<byte> l7, Vector256<byte> h7,
        sbyte* q, int negatedSum, float xScale, Vector512<float> d, Vector512<float> acc)
    {
        var low = Vector256.Create(negatedSum << 7);
        var high = low;
        var x = Vector256.Create(*(int*)q).AsSByte();
        low = AvxVnni.MultiplyWideningAndAdd(low, l0, x);
        high = AvxVnni.MultiplyWideningAndAdd(high, h0, x);
        x = Vector256.Create(*(int*)(q + 4)).AsSByte();
        low = AvxVnni.MultiplyWideningAndAdd(low, l1, x);
        high = AvxVnni.MultiplyWideningAndAdd(high, h1, x);
        x = Vector256.Create(*(int*)(q + 8)).AsSByte();
        low = AvxVnni.MultiplyWideningAndAdd(low, l2, x);
        high = AvxVnni.MultiplyWideningAndAdd(high, h2, x);
        x = Vector256.Create(*(int*)(q + 12)).AsSByte();
        low = AvxVnni.MultiplyWideningAndAdd(low, l3, x);
        high = AvxVnni.MultiplyWideningAndAdd(high, h3, x);
        x = Vector256.Create(*(int*)(q + 16)).AsSByte();
        low = AvxVnni.MultiplyWideningAndAdd(low, l4, x);
        high = AvxVnni.MultiplyWideningAndAdd(high, h4, x);
        x = Vector256.Create(*(int*)(q + 20)).AsSByte();
        low = AvxVnni.MultiplyWideningAndAdd(low, l5, x);
        high = AvxVnni.MultiplyWideningAndAdd(high, h5, x);
        x = Vector256.Create(*(int*)(q + 24)).AsSByte();
        low = AvxVnni.MultiplyWideningAndAdd(low, l6, x);
        high = AvxVnni.MultiplyWideningAndAdd(high, h6, x);
        x = Vector256.Create(*(int*)(q + 28)).AsSByte();
        low = AvxVnni.MultiplyWideningAndAdd(low, l7, x);
        high = AvxVnni.MultiplyWideningAndAdd(high, h7, x);
        var sum = Avx512F.InsertVector256(low.ToVector512Unsafe(), high, 1);
        return Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(sum), Avx512F.Multiply(d, Vector512.Create(xScale)), acc);
    }

    /// <summary>
    /// y = acc + o for one token, o the Q4_1/Q5_1 offset term Σ_b m_w·(d_x·Σq_x) of the sixteen rows,
    /// summed block by block with a multiply then an add (+0 for the types without one), outside the
    /// main loop so that it holds no registers there.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Finish<T>(Vector512<float> acc, float* offsets, float* xOffsets, int blocks, float* y, int valid)
        where T : struct, CpuFusedQuantDot.IBlockLayout
    {
        var o = Vector512<float>.Zero;
        if (T.HasOffset)
        {
            for (var b = 0; b < blocks; b++)
            {
                o = Avx512F.Add(o, Avx512F.Multiply(Avx512F.LoadVector512(offsets + ((nint)b * 16)), Vector512.Create(xOffsets[b])));
            }
        }

        var v = Avx512F.Add(acc, o);
        if (valid == Rows16)
        {
            Avx512F.Store(y, v);
            return;
        }

        for (var i = 0; i < valid; i++)
        {
            y[i] = v.GetElement(i);
        }
    }
}
