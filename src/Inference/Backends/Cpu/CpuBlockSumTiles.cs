using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Mesh.Inference.Models;
using Mesh.Inference.Models.Gguf;

namespace Mesh.Inference.Backends.Cpu;

/// <summary>
/// The prefill tile of the 4/5-bit block types (Q4_0, Q4_1, Q5_0, Q5_1): eight weight rows × four
/// tokens, one exact integer per (row, token, block), summed in <see cref="CpuBlockSums"/>' order.
/// <para>
/// Eight rows are unpacked once into the thread's scratch, interleaved four bytes at a time (vector j
/// of a block holds group j of the eight rows, lane = row — the layout of ggml's repacked
/// q4_0_8x8), as unsigned q + 128. Per block and token, each of the eight groups of four activation
/// quants is broadcast and one vpdpbusd per group accumulates all eight rows, starting from
/// −128·Σq_x (<see cref="CpuActivations.Q8BlockSumsNegated"/>); the lanes end as the eight rows'
/// block sums, and one convert, one scale product (the panel's eight d_w times d_x) and one FMA then
/// serve eight rows: per block, four tokens cost 32 vpdpbusd and 20 other vector operations (and 45
/// loads, 32 of them broadcasts) for 1,024 multiply-adds, where the four-row tile this replaced, which
/// kept eight float lanes per row and block, spent about 70 operations per 512. Nothing is repacked
/// at load: the panel is per-thread scratch, refilled per eight rows.
/// </para>
/// </summary>
internal static unsafe class CpuBlockSumTiles
{
    /// <summary>Weight rows per panel: the eight lanes of one vector.</summary>
    private const int Rows8 = CpuBlockSums.Rows;

    private const int TileTokens = 4;

    private const int Block = BlockQuants.BlockSize;

    /// <summary>The bytes of one block of the eight interleaved rows.</summary>
    private const int PanelBlock = Rows8 * Block;

    /// <summary>
    /// Output columns [<paramref name="rowStart"/>, <paramref name="rowEnd"/>) of <paramref name="y"/>
    /// (row stride <paramref name="yStride"/>) for every activation row of <paramref name="x"/> (quantized);
    /// <paramref name="panel"/> is the thread's cache-line-aligned scratch of
    /// <see cref="CpuBlockQuantTiles.ScratchFloats"/>(Cols) floats.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Rows(WeightMatrix w, CpuActivations x, float* y, int yStride, int rowStart, int rowEnd, byte* panel)
    {
        var hasOffset = w.Type is GgmlType.Q4_1 or GgmlType.Q5_1;
        var blocks = w.Cols / Block;
        var n = x.Rows;
        var scales = (float*)(panel + (8 * w.Cols));
        var offsets = scales + (8 * blocks);
        for (var r = rowStart; r < rowEnd; r += Rows8)
        {
            var valid = Math.Min(Rows8, rowEnd - r);
            switch (w.Type)
            {
                case GgmlType.Q4_0:
                    Unpack8<CpuFusedQuantDot.Q4_0>(w, r, valid, blocks, panel, scales, offsets);
                    break;
                case GgmlType.Q4_1:
                    Unpack8<CpuFusedQuantDot.Q4_1>(w, r, valid, blocks, panel, scales, offsets);
                    break;
                case GgmlType.Q5_0:
                    Unpack8<CpuFusedQuantDot.Q5_0>(w, r, valid, blocks, panel, scales, offsets);
                    break;
                default:
                    Unpack8<CpuFusedQuantDot.Q5_1>(w, r, valid, blocks, panel, scales, offsets);
                    break;
            }

            // The next eight rows are fetched into L2 while this group computes, so the next unpack
            // does not wait on memory (eight rows are too short a stream for the hardware prefetcher).
            if (r + Rows8 < rowEnd)
            {
                var next = w.Row(r + Rows8);
                var bytes = (nint)Math.Min(Rows8, rowEnd - r - Rows8) * w.RowBytes;
                for (nint at = 0; at < bytes; at += 64)
                {
                    Sse.Prefetch1(next + at);
                }
            }

            var b = 0;
            for (; b + TileTokens <= n; b += TileTokens)
            {
                Tile<FourTokens>(panel, scales, offsets, hasOffset, x, b, blocks, y + ((nint)b * yStride) + r, yStride, valid);
            }

            // The tokens left over take the same eight rows while they are still in L1.
            for (; b < n; b++)
            {
                Tile<OneToken>(panel, scales, offsets, hasOffset, x, b, blocks, y + ((nint)b * yStride) + r, yStride, valid);
            }
        }
    }

    /// <summary>
    /// Rows r … r + 7 into the panel (spare rows of a short last group repeat its last row: computed,
    /// never stored): for block b, vector j (at panel + 256·b + 32·j) holds four-value group j of the
    /// eight rows, lane i row i, as unsigned bytes q + 128; scales[8·b + i] is row i's d_w and, for
    /// Q4_1/Q5_1, offsets[8·b + i] its m_w.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Unpack8<T>(WeightMatrix w, int r, int valid, int blocks, byte* panel, float* scales, float* offsets)
        where T : struct, CpuFusedQuantDot.IBlockLayout
    {
        var bytes = (nint)GgmlTypeInfo.BlockBytes(w.Type);
        byte* r0 = w.Row(r), r1 = w.Row(r + Math.Min(1, valid - 1)), r2 = w.Row(r + Math.Min(2, valid - 1)), r3 = w.Row(r + Math.Min(3, valid - 1));
        byte* r4 = w.Row(r + Math.Min(4, valid - 1)), r5 = w.Row(r + Math.Min(5, valid - 1)), r6 = w.Row(r + Math.Min(6, valid - 1)), r7 = w.Row(r + Math.Min(7, valid - 1));
        for (var b = 0; b < blocks; b++)
        {
            var o = b * bytes;
            var u0 = Quants<T>(r0 + o);
            var u1 = Quants<T>(r1 + o);
            var u2 = Quants<T>(r2 + o);
            var u3 = Quants<T>(r3 + o);
            var u4 = Quants<T>(r4 + o);
            var u5 = Quants<T>(r5 + o);
            var u6 = Quants<T>(r6 + o);
            var u7 = Quants<T>(r7 + o);

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
            Avx.Store((long*)(p + 32), Avx2.Permute2x128(s1, s5, 0x20));
            Avx.Store((long*)(p + 64), Avx2.Permute2x128(s2, s6, 0x20));
            Avx.Store((long*)(p + 96), Avx2.Permute2x128(s3, s7, 0x20));
            Avx.Store((long*)(p + 128), Avx2.Permute2x128(s0, s4, 0x31));
            Avx.Store((long*)(p + 160), Avx2.Permute2x128(s1, s5, 0x31));
            Avx.Store((long*)(p + 192), Avx2.Permute2x128(s2, s6, 0x31));
            Avx.Store((long*)(p + 224), Avx2.Permute2x128(s3, s7, 0x31));

            var d = scales + (b * 8);
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
                var m = offsets + (b * 8);
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

    /// <summary>One block's 32 quants as unsigned bytes q + 128 (stored value + 128 − bias), viewed as eight int32 groups of four.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> Quants<T>(byte* block)
        where T : struct, CpuFusedQuantDot.IBlockLayout =>
        Avx2.Add(CpuBlockSums.Values<T>(block), Vector256.Create((byte)(128 - T.Bias))).AsInt32();

    /// <summary>
    /// The eight panel rows times activation rows <paramref name="token"/> … + <typeparamref name="TTokens"/>
    /// − 1: y[t·yStride + i] for the first <paramref name="valid"/> rows i. One float accumulator per
    /// token, lane i row i; per block <see cref="Step"/>, and for Q4_1/Q5_1 the offset term
    /// o += m_w·(d_x·Σq_x) (a multiply then an add, eight rows at once); y = acc + o.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Tile<TTokens>(byte* panel, float* scales, float* offsets, bool hasOffset, CpuActivations x, int token, int blocks, float* y, int yStride, int valid)
        where TTokens : struct, ITileTokens
    {
        var cols = blocks * Block;
        var q0 = x.Q8 + ((nint)token * cols);
        var n0 = x.Q8BlockSumsNegated + ((nint)token * blocks);
        var s0 = x.Q8Scales + ((nint)token * blocks);
        var m0 = x.Q8Offsets + ((nint)token * blocks);
        nint qStride = cols, sStride = blocks;
        Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default;
        Vector256<float> o0 = default, o1 = default, o2 = default, o3 = default;
        for (var b = 0; b < blocks; b++)
        {
            var p = panel + ((nint)b * PanelBlock);
            var w0 = Avx.LoadVector256(p);
            var w1 = Avx.LoadVector256(p + 32);
            var w2 = Avx.LoadVector256(p + 64);
            var w3 = Avx.LoadVector256(p + 96);
            var w4 = Avx.LoadVector256(p + 128);
            var w5 = Avx.LoadVector256(p + 160);
            var w6 = Avx.LoadVector256(p + 192);
            var w7 = Avx.LoadVector256(p + 224);
            var d = Avx.LoadVector256(scales + ((nint)b * 8));
            var q = q0 + ((nint)b * Block);
            a0 = Step(w0, w1, w2, w3, w4, w5, w6, w7, q, n0 + b, s0 + b, d, a0);
            if (TTokens.Count > 1)
            {
                a1 = Step(w0, w1, w2, w3, w4, w5, w6, w7, q + qStride, n0 + sStride + b, s0 + sStride + b, d, a1);
                a2 = Step(w0, w1, w2, w3, w4, w5, w6, w7, q + (2 * qStride), n0 + (2 * sStride) + b, s0 + (2 * sStride) + b, d, a2);
                a3 = Step(w0, w1, w2, w3, w4, w5, w6, w7, q + (3 * qStride), n0 + (3 * sStride) + b, s0 + (3 * sStride) + b, d, a3);
            }

            if (hasOffset)
            {
                var m = Avx.LoadVector256(offsets + ((nint)b * 8));
                o0 = Avx.Add(o0, Avx.Multiply(m, Avx.BroadcastScalarToVector256(m0 + b)));
                if (TTokens.Count > 1)
                {
                    o1 = Avx.Add(o1, Avx.Multiply(m, Avx.BroadcastScalarToVector256(m0 + sStride + b)));
                    o2 = Avx.Add(o2, Avx.Multiply(m, Avx.BroadcastScalarToVector256(m0 + (2 * sStride) + b)));
                    o3 = Avx.Add(o3, Avx.Multiply(m, Avx.BroadcastScalarToVector256(m0 + (3 * sStride) + b)));
                }
            }
        }

        CpuBlockSums.Store(Avx.Add(a0, o0), y, valid);
        if (TTokens.Count > 1)
        {
            CpuBlockSums.Store(Avx.Add(a1, o1), y + yStride, valid);
            CpuBlockSums.Store(Avx.Add(a2, o2), y + (2 * (nint)yStride), valid);
            CpuBlockSums.Store(Avx.Add(a3, o3), y + (3 * (nint)yStride), valid);
        }
    }

    /// <summary>
    /// One token's block for the eight rows: the block's integer sums Σ (q_w + 128)·q_x − 128·Σq_x =
    /// Σ q_w·q_x (exact) from eight vpdpbusd of the row-interleaved groups against the token's
    /// four-value group j broadcast, then acc = fma(float(sums), d_w·d_x rounded, acc).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Step(
        Vector256<byte> w0, Vector256<byte> w1, Vector256<byte> w2, Vector256<byte> w3,
        Vector256<byte> w4, Vector256<byte> w5, Vector256<byte> w6, Vector256<byte> w7,
        sbyte* q, int* negatedSum, float* xScale, Vector256<float> d, Vector256<float> acc)
    {
        // Two chains of four vpdpbusd each (latency), the first from −128·Σq_x.
        var even = Avx2.ShiftLeftLogical(Avx2.BroadcastScalarToVector256(negatedSum), 7);
        var odd = Vector256<int>.Zero;
        even = AvxVnni.MultiplyWideningAndAdd(even, w0, Avx2.BroadcastScalarToVector256((int*)q).AsSByte());
        odd = AvxVnni.MultiplyWideningAndAdd(odd, w1, Avx2.BroadcastScalarToVector256((int*)(q + 4)).AsSByte());
        even = AvxVnni.MultiplyWideningAndAdd(even, w2, Avx2.BroadcastScalarToVector256((int*)(q + 8)).AsSByte());
        odd = AvxVnni.MultiplyWideningAndAdd(odd, w3, Avx2.BroadcastScalarToVector256((int*)(q + 12)).AsSByte());
        even = AvxVnni.MultiplyWideningAndAdd(even, w4, Avx2.BroadcastScalarToVector256((int*)(q + 16)).AsSByte());
        odd = AvxVnni.MultiplyWideningAndAdd(odd, w5, Avx2.BroadcastScalarToVector256((int*)(q + 20)).AsSByte());
        even = AvxVnni.MultiplyWideningAndAdd(even, w6, Avx2.BroadcastScalarToVector256((int*)(q + 24)).AsSByte());
        odd = AvxVnni.MultiplyWideningAndAdd(odd, w7, Avx2.BroadcastScalarToVector256((int*)(q + 28)).AsSByte());
        var sum = Avx2.Add(even, odd);
        return Fma.MultiplyAdd(Avx.ConvertToVector256Single(sum), Avx.Multiply(d, Avx.BroadcastScalarToVector256(xScale)), acc);
    }
}
