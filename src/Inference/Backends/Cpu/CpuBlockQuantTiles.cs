using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Mesh.Inference.Models;
using Mesh.Inference.Models.Gguf;

namespace Mesh.Inference.Backends.Cpu;

/// <summary>
/// y = x · Wᵀ for a batch (two or more activation rows) of the 32-value block types (Q8_0, Q4_0,
/// Q4_1, Q5_0, Q5_1) against Q8_0 activations: the int8 register tiles of prefill.
/// <para>
/// Four weight rows are unpacked once into the thread's scratch as unsigned bytes (the signed
/// quant q as q ^ 0x80 = q + 128), interleaved block by block, with their scales (each eight times,
/// so that two rows' scales fill one 16-lane vector) and offsets; then every group of four activation
/// rows passes over them, each pass a tile of four rows × four tokens: per block it loads four weight
/// and four activation vectors and issues sixteen vpdpbusd (AVX-VNNI), each lane starting from the
/// bias correction 128 × the activations' negated four-value sums
/// (<see cref="CpuActivations.Q8QuadSumsNegated"/>), so that it holds exactly Σ q_w·q_x over four
/// values. The float work runs on 512-bit vectors, two rows per vector (eight zmm accumulators):
/// the convert, the scale product and the FMA cost one instruction per row pair, not per row.
/// This is the register-blocking of llamafile's
/// tinyBLAS_Q0 (sgemm.cpp) in the dot-product form that needs no repacking of the mmapped file.
/// </para>
/// <para>
/// Every output is summed exactly as the single-row kernels sum it (<see cref="CpuMatMul.DotQ8"/>,
/// <c>CpuQuantMatMul.DotBlocks</c>, <see cref="CpuVnniQuantDot"/>): the same integer per lane, one
/// FMA per block in block order with the scale product d_w·d_x rounded to float first, the same
/// <see cref="Vector256.Sum{T}(Vector256{T})"/>, then the Q4_1/Q5_1 offset term summed block by block
/// (and, for the 4/5-bit types, added even when it is zero, as <c>DotBlocks</c> does). So a token's
/// result does not depend on the batch around it, on the tile that holds it or on the thread split.
/// The 512-bit float steps and the operands need AVX-512 (and its 32 vector registers); other CPUs
/// keep the one-row kernels.
/// </para>
/// </summary>
internal static unsafe class CpuBlockQuantTiles
{
    private const int TileRows = 4;

    private const int TileTokens = 4;

    // Values per block (32) and the bytes of one block of the four interleaved rows (4 × 32).
    private const int Block = BlockQuants.BlockSize;

    private const int PanelBlock = TileRows * Block;

    /// <summary>Whether this CPU runs the tiles: AVX-VNNI for vpdpbusd and AVX-512 for the 512-bit float steps and 32 vector registers.</summary>
    public static bool IsSupported => Avx512F.IsSupported && CpuVnniQuantDot.IsSupported;

    /// <summary>Whether the tiles handle <paramref name="type"/>.</summary>
    public static bool Handles(GgmlType type) => BlockQuants.Handles(type);

    /// <summary>
    /// Floats of scratch a thread needs for the four-row panel of a <paramref name="cols"/>-wide
    /// matrix: the interleaved unsigned quants (4 · cols bytes), the four rows' scales eight times
    /// each (32 floats per block), their offsets (4 per block), and 64 bytes of slack to align the
    /// panel to a cache line.
    /// </summary>
    public static int ScratchFloats(int cols) => (((8 * cols) + (36 * sizeof(float) * (cols / Block)) + 64) / sizeof(float)) + 1;

    /// <summary>
    /// Output columns [<paramref name="rowStart"/>, <paramref name="rowEnd"/>) of <paramref name="y"/>
    /// (row stride <paramref name="yStride"/>) for every activation row of <paramref name="x"/>, which
    /// must be quantized (<see cref="CpuActivations.EnsureQuantized"/>). The range may start and end
    /// anywhere: a last group of fewer than four rows repeats its last row in the spare tile rows and
    /// stores only its own outputs. <paramref name="scratch"/> holds ≥ <see cref="ScratchFloats"/>(Cols).
    /// Requires <see cref="IsSupported"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Rows(WeightMatrix w, CpuActivations x, float* y, int yStride, int rowStart, int rowEnd, Span<float> scratch)
    {
        fixed (float* room = scratch)
        {
            Rows(w, x, y, yStride, rowStart, rowEnd, (byte*)(((nint)room + 63) & ~(nint)63));
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Rows(WeightMatrix w, CpuActivations x, float* y, int yStride, int rowStart, int rowEnd, byte* panel)
    {
        var cols = w.Cols;
        var blocks = cols / Block;
        var n = x.Rows;
        var isQ8 = w.Type == GgmlType.Q8_0;
        var hasOffset = w.Type is GgmlType.Q4_1 or GgmlType.Q5_1;
        if (!isQ8)
        {
            SumRows(w, x, y, yStride, rowStart, rowEnd, panel, hasOffset);
            return;
        }

        // The panel (cache-line aligned by the caller), then the scales and offsets: ScratchFloats' layout.
        var scalePairs = (float*)(panel + (4 * cols));
        var offsets = scalePairs + (32 * blocks);

        for (var r = rowStart; r < rowEnd; r += TileRows)
        {
            var valid = Math.Min(TileRows, rowEnd - r);
            for (var i = 0; i < TileRows; i++)
            {
                // Spare rows of a short last group repeat its last row: computed, never stored.
                Unpack(w, r + Math.Min(i, valid - 1), i, blocks, panel, scalePairs, offsets);
            }

            // The next four rows are fetched into L2 while this group computes, so the next
            // unpack does not wait on memory (rows of 768 values are 432–816 bytes: four of them,
            // read in one burst, are too short a stream for the hardware prefetcher to get ahead).
            if (r + TileRows < rowEnd)
            {
                var next = w.Row(r + TileRows);
                var bytes = (nint)Math.Min(TileRows, rowEnd - r - TileRows) * w.RowBytes;
                for (nint at = 0; at < bytes; at += 64)
                {
                    Sse.Prefetch1(next + at);
                }
            }

            var b = 0;
            for (; b + TileTokens <= n; b += TileTokens)
            {
                Tile<FourTokens>(panel, scalePairs, offsets, hasOffset, !isQ8, x, b, blocks, y + ((nint)b * yStride) + r, yStride, valid);
            }

            // The tokens left over take the same four rows while they are still in L1.
            for (; b < n; b++)
            {
                Tile<OneToken>(panel, scalePairs, offsets, hasOffset, !isQ8, x, b, blocks, y + ((nint)b * yStride) + r, yStride, valid);
            }
        }
    }

    /// <summary>
    /// Weight row <paramref name="row"/> into slot <paramref name="slot"/> of the panel: its quants
    /// as unsigned bytes (q + 128) at panel + 128·b + 32·slot, its scale eight times at
    /// scalePairs[32·b + 8·slot] (so that a row pair's two scales fill one 16-lane vector) and its
    /// offset at offsets[4·b + slot], the same values <see cref="BlockQuants.Unpack"/> gives.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Unpack(WeightMatrix w, int row, int slot, int blocks, byte* panel, float* scalePairs, float* offsets)
    {
        var source = w.Row(row);
        switch (w.Type)
        {
            case GgmlType.Q8_0:
                // The quants are int8 already: copied straight from the block with the top bit flipped.
                for (var b = 0; b < blocks; b++)
                {
                    var block = source + ((nint)b * Dequantize.Q8BlockBytes);
                    Avx.Store(panel + ((nint)b * PanelBlock) + (slot * Block), Avx2.Xor(Avx.LoadVector256(block + 2), Vector256.Create((byte)0x80)));
                    Avx.Store(scalePairs + (b * 32) + (slot * 8), Vector256.Create(HalfTable.ToSingle(*(ushort*)block)));
                    offsets[(b * TileRows) + slot] = 0;
                }

                break;
            case GgmlType.Q4_0:
                Unpack<CpuFusedQuantDot.Q4_0>(source, GgmlTypeInfo.BlockBytes(w.Type), slot, blocks, panel, scalePairs, offsets);
                break;
            case GgmlType.Q4_1:
                Unpack<CpuFusedQuantDot.Q4_1>(source, GgmlTypeInfo.BlockBytes(w.Type), slot, blocks, panel, scalePairs, offsets);
                break;
            case GgmlType.Q5_0:
                Unpack<CpuFusedQuantDot.Q5_0>(source, GgmlTypeInfo.BlockBytes(w.Type), slot, blocks, panel, scalePairs, offsets);
                break;
            case GgmlType.Q5_1:
                Unpack<CpuFusedQuantDot.Q5_1>(source, GgmlTypeInfo.BlockBytes(w.Type), slot, blocks, panel, scalePairs, offsets);
                break;
            default:
                throw new NotSupportedException($"no int8 tiles for {w.Type}");
        }
    }

    /// <summary>
    /// One row of a 4/5-bit type unpacked in registers as <see cref="CpuVnniQuantDot"/> does, the
    /// stored value v (q = v − bias) written as v + 128 − bias = q + 128.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Unpack<T>(byte* source, nint bytes, int slot, int blocks, byte* panel, float* scalePairs, float* offsets)
        where T : struct, CpuFusedQuantDot.IBlockLayout
    {
        var mask = Vector256.Create((byte)0x0F);
        var shift = Vector256.Create((byte)(128 - T.Bias));
        for (var b = 0; b < blocks; b++)
        {
            var block = source + (b * bytes);

            // Low nibbles are values 0–15, high nibbles 16–31: the halves of one 256-bit register.
            var packed = Sse2.LoadVector128(block + T.NibbleOffset);
            var v = Avx2.And(Vector256.Create(packed, Sse2.ShiftRightLogical(packed.AsUInt16(), 4).AsByte()), mask);
            if (T.HasFifthBit)
            {
                v = Avx2.Or(v, CpuFusedQuantDot.FifthBits(*(uint*)(block + T.NibbleOffset - 4)));
            }

            Avx.Store(panel + ((nint)b * PanelBlock) + (slot * Block), Avx2.Add(v, shift));
            Avx.Store(scalePairs + (b * 32) + (slot * 8), Vector256.Create(HalfTable.ToSingle(*(ushort*)block)));
            offsets[(b * TileRows) + slot] = T.HasOffset ? HalfTable.ToSingle(*(ushort*)(block + 2)) : 0;
        }
    }

    /// <summary>
    /// The four panel rows times activation rows <paramref name="token"/> … + <typeparamref name="TTokens"/>
    /// − 1: y[t·yStride + i] for the first <paramref name="valid"/> rows i.
    /// <para>
    /// Each pair of rows (0, 1 and 2, 3) shares one 512-bit float accumulator per token: its lower
    /// eight lanes are the first row's eight-lane sum, its upper eight the second's. The two rows'
    /// vpdpbusd results are joined into one zmm so that the convert and the FMA (with the block's two
    /// scale products d_w·d_x, the panel's 16-lane row-pair scales times the broadcast d_x) run once
    /// per pair of rows; lanes never mix, so each is the one-row kernel's lane bit for bit.
    /// </para>
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Tile<TTokens>(byte* panel, float* scalePairs, float* offsets, bool hasOffset, bool addOffset, CpuActivations x, int token, int blocks, float* y, int yStride, int valid)
        where TTokens : struct, ITileTokens
    {
        var cols = blocks * Block;
        var q0 = x.Q8 + ((nint)token * cols);
        var n0 = x.Q8QuadSumsNegated + ((nint)token * (cols / 4));
        var s0 = x.Q8Scales + ((nint)token * blocks);
        nint qStride = cols, nStride = cols / 4, sStride = blocks;

        // aRt: rows R (01 or 23) for token t.
        Vector512<float> a010 = default, a230 = default, a011 = default, a231 = default;
        Vector512<float> a012 = default, a232 = default, a013 = default, a233 = default;
        for (var b = 0; b < blocks; b++)
        {
            var k = (nint)b * Block;
            var p = panel + ((nint)b * PanelBlock);
            var w0 = Avx.LoadVector256(p);
            var w1 = Avx.LoadVector256(p + Block);
            var w2 = Avx.LoadVector256(p + (2 * Block));
            var w3 = Avx.LoadVector256(p + (3 * Block));
            var d01 = Avx512F.LoadVector512(scalePairs + ((nint)b * 32));
            var d23 = Avx512F.LoadVector512(scalePairs + ((nint)b * 32) + 16);

            // Per token: its quants, the bias correction −128·Σq_x per four values, and d_x.
            var v = Avx.LoadVector256(q0 + k);
            var c = Avx2.ShiftLeftLogical(Avx.LoadVector256(n0 + ((nint)b * 8)), 7);
            var s = Vector512.Create(s0[b]);
            a010 = Step(c, w0, w1, v, d01, s, a010);
            a230 = Step(c, w2, w3, v, d23, s, a230);
            if (TTokens.Count > 1)
            {
                v = Avx.LoadVector256(q0 + qStride + k);
                c = Avx2.ShiftLeftLogical(Avx.LoadVector256(n0 + nStride + ((nint)b * 8)), 7);
                s = Vector512.Create(s0[sStride + b]);
                a011 = Step(c, w0, w1, v, d01, s, a011);
                a231 = Step(c, w2, w3, v, d23, s, a231);

                v = Avx.LoadVector256(q0 + (2 * qStride) + k);
                c = Avx2.ShiftLeftLogical(Avx.LoadVector256(n0 + (2 * nStride) + ((nint)b * 8)), 7);
                s = Vector512.Create(s0[(2 * sStride) + b]);
                a012 = Step(c, w0, w1, v, d01, s, a012);
                a232 = Step(c, w2, w3, v, d23, s, a232);

                v = Avx.LoadVector256(q0 + (3 * qStride) + k);
                c = Avx2.ShiftLeftLogical(Avx.LoadVector256(n0 + (3 * nStride) + ((nint)b * 8)), 7);
                s = Vector512.Create(s0[(3 * sStride) + b]);
                a013 = Step(c, w0, w1, v, d01, s, a013);
                a233 = Step(c, w2, w3, v, d23, s, a233);
            }
        }

        var o = x.Q8Offsets + ((nint)token * blocks);
        var (o0, o1, o2, o3) = hasOffset ? Offsets<TTokens>(offsets, o, o + blocks, o + (2 * blocks), o + (3 * blocks), blocks) : default;
        Store(a010, a230, o0, addOffset, y, valid);
        if (TTokens.Count > 1)
        {
            Store(a011, a231, o1, addOffset, y + yStride, valid);
            Store(a012, a232, o2, addOffset, y + (2 * (nint)yStride), valid);
            Store(a013, a233, o3, addOffset, y + (3 * (nint)yStride), valid);
        }
    }

    /// <summary>
    /// One token's block step for a pair of panel rows: acc += cvt(Σ q_w·q_x per four values) × (d_w·d_x),
    /// the first row in the lower eight lanes, the second in the upper. The unsigned quants (q_w + 128)
    /// go into vpdpbusd from the correction −128·Σq_x (<see cref="CpuActivations.Q8QuadSumsNegated"/>),
    /// so that each lane holds exactly Σ q_w·q_x over its four values; <paramref name="scales"/> holds
    /// the rows' d_w (eight lanes each), <paramref name="x"/> d_x in every lane, and their product is
    /// rounded before the FMA, as the one-row kernels round it.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Step(Vector256<int> correction, Vector256<byte> first, Vector256<byte> second, Vector256<sbyte> v, Vector512<float> scales, Vector512<float> x, Vector512<float> acc)
    {
        var sums = Avx512F.InsertVector256(AvxVnni.MultiplyWideningAndAdd(correction, first, v).ToVector512Unsafe(), AvxVnni.MultiplyWideningAndAdd(correction, second, v), 1);
        return Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(sums), Avx512F.Multiply(scales, x), acc);
    }

    /// <summary>
    /// The offset terms Σ_b m_w[b]·(d_x·Σq_x)[b] of the four rows for four tokens (vector t, lane i:
    /// token t, row i), each lane summed in block order by a multiply then an add, as <c>DotBlocks</c>
    /// sums its scalar; the four tokens' chains interleaved so that the adds' latency overlaps.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (Vector128<float> T0, Vector128<float> T1, Vector128<float> T2, Vector128<float> T3) Offsets<TTokens>(float* offsets, float* x0, float* x1, float* x2, float* x3, int blocks)
        where TTokens : struct, ITileTokens
    {
        Vector128<float> s0 = default, s1 = default, s2 = default, s3 = default;
        for (var b = 0; b < blocks; b++)
        {
            var m = Sse.LoadVector128(offsets + (b * TileRows));
            s0 = Sse.Add(s0, Sse.Multiply(m, Vector128.Create(x0[b])));
            if (TTokens.Count > 1)
            {
                s1 = Sse.Add(s1, Sse.Multiply(m, Vector128.Create(x1[b])));
                s2 = Sse.Add(s2, Sse.Multiply(m, Vector128.Create(x2[b])));
                s3 = Sse.Add(s3, Sse.Multiply(m, Vector128.Create(x3[b])));
            }
        }

        return (s0, s1, s2, s3);
    }

    /// <summary>
    /// y[i] = the eight-lane sum of row i (rows 0, 1 in the halves of <paramref name="acc01"/>, 2, 3 in
    /// <paramref name="acc23"/>'s), summed as the one-row kernels' <see cref="Vector256.Sum{T}(Vector256{T})"/>,
    /// + offset lane i for the 4/5-bit types (whose one-row kernel adds its offset term, 0 when the type
    /// has none, and so turns a −0 sum into +0; Q8_0's adds nothing), for i &lt; valid.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store(Vector512<float> acc01, Vector512<float> acc23, Vector128<float> offset, bool addOffset, float* y, int valid)
    {
        var s0 = Vector256.Sum(acc01.GetLower());
        var s1 = Vector256.Sum(acc01.GetUpper());
        var s2 = Vector256.Sum(acc23.GetLower());
        var s3 = Vector256.Sum(acc23.GetUpper());
        if (addOffset)
        {
            s0 += offset.GetElement(0);
            s1 += offset.GetElement(1);
            s2 += offset.GetElement(2);
            s3 += offset.GetElement(3);
        }

        y[0] = s0;
        if (valid > 1)
        {
            y[1] = s1;
        }

        if (valid > 2)
        {
            y[2] = s2;
        }

        if (valid > 3)
        {
            y[3] = s3;
        }
    }

    private const int SumRows8 = 8;

    private const int SumPanelBlock = SumRows8 * Block;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void SumRows(WeightMatrix w, CpuActivations x, float* y, int yStride, int rowStart, int rowEnd, byte* panel, bool hasOffset)
    {
        var blocks = w.Cols / Block;
        var n = x.Rows;
        var scales = (float*)(panel + (8 * w.Cols));
        var offsets = scales + (8 * blocks);
        for (var r = rowStart; r < rowEnd; r += SumRows8)
        {
            var valid = Math.Min(SumRows8, rowEnd - r);
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

            if (r + SumRows8 < rowEnd)
            {
                var next = w.Row(r + SumRows8);
                var bytes = (nint)Math.Min(SumRows8, rowEnd - r - SumRows8) * w.RowBytes;
                for (nint at = 0; at < bytes; at += 64)
                {
                    Sse.Prefetch1(next + at);
                }
            }

            var b = 0;
            for (; b + TileTokens <= n; b += TileTokens)
            {
                SumTile<FourTokens>(panel, scales, offsets, hasOffset, x, b, blocks, y + ((nint)b * yStride) + r, yStride, valid);
            }

            for (; b < n; b++)
            {
                SumTile<OneToken>(panel, scales, offsets, hasOffset, x, b, blocks, y + ((nint)b * yStride) + r, yStride, valid);
            }
        }
    }

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
            var p = panel + (b * SumPanelBlock);
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

    /// <summary>One block's 32 quants as unsigned bytes q + 128, viewed as eight int32 groups of four.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> Quants<T>(byte* block)
        where T : struct, CpuFusedQuantDot.IBlockLayout
    {
        var packed = Sse2.LoadVector128(block + T.NibbleOffset);
        var v = Avx2.And(Vector256.Create(packed, Sse2.ShiftRightLogical(packed.AsUInt16(), 4).AsByte()), Vector256.Create((byte)0x0F));
        if (T.HasFifthBit)
        {
            v = Avx2.Or(v, CpuFusedQuantDot.FifthBits(*(uint*)(block + T.NibbleOffset - 4)));
        }

        return Avx2.Add(v, Vector256.Create((byte)(128 - T.Bias))).AsInt32();
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void SumTile<TTokens>(byte* panel, float* scales, float* offsets, bool hasOffset, CpuActivations x, int token, int blocks, float* y, int yStride, int valid)
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
            var p = panel + ((nint)b * SumPanelBlock);
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
            a0 = SumStep(w0, w1, w2, w3, w4, w5, w6, w7, q, n0 + b, s0 + b, d, a0);
            if (TTokens.Count > 1)
            {
                a1 = SumStep(w0, w1, w2, w3, w4, w5, w6, w7, q + qStride, n0 + sStride + b, s0 + sStride + b, d, a1);
                a2 = SumStep(w0, w1, w2, w3, w4, w5, w6, w7, q + (2 * qStride), n0 + (2 * sStride) + b, s0 + (2 * sStride) + b, d, a2);
                a3 = SumStep(w0, w1, w2, w3, w4, w5, w6, w7, q + (3 * qStride), n0 + (3 * sStride) + b, s0 + (3 * sStride) + b, d, a3);
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

        SumStore(Avx.Add(a0, o0), y, valid);
        if (TTokens.Count > 1)
        {
            SumStore(Avx.Add(a1, o1), y + yStride, valid);
            SumStore(Avx.Add(a2, o2), y + (2 * (nint)yStride), valid);
            SumStore(Avx.Add(a3, o3), y + (3 * (nint)yStride), valid);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> SumStep(
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

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void SumStore(Vector256<float> v, float* y, int valid)
    {
        if (valid == SumRows8)
        {
            Avx.Store(y, v);
            return;
        }

        for (var i = 0; i < valid; i++)
        {
            y[i] = v.GetElement(i);
        }
    }
}
