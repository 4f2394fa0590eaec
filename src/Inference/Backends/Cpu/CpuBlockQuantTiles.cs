using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Mesh.Inference.Models;
using Mesh.Inference.Models.Gguf;

namespace Mesh.Inference.Backends.Cpu;

/// <summary>
/// y = x · Wᵀ for a batch (two or more activation rows) of the 32-value block types (Q8_0, Q4_0,
/// Q4_1, Q5_0, Q5_1) against Q8_0 activations: the int8 register tiles of prefill. The 4/5-bit types
/// take <see cref="CpuBlockSumTiles"/> (one integer per row and block, sixteen rows per vector); Q8_0
/// takes the tile here, which keeps <see cref="CpuMatMul.DotQ8"/>'s eight float lanes per row.
/// <para>
/// Q8_0: four weight rows are copied once into the thread's scratch as unsigned bytes (q ^ 0x80 =
/// q + 128), interleaved block by block, with their scales (each eight times, so that two rows'
/// scales fill one 16-lane vector); then every group of four activation rows passes over them, each
/// pass a tile of four rows × four tokens: per block it loads four weight and four activation vectors
/// and issues sixteen vpdpbusd (AVX-VNNI), each lane starting from the bias correction 128 × the
/// activations' negated four-value sums (<see cref="CpuActivations.Q8QuadSumsNegated"/>), so that it
/// holds exactly Σ q_w·q_x over four values. The float work runs on 512-bit vectors, two rows per
/// vector (eight zmm accumulators): the convert, the scale product and the FMA cost one instruction
/// per row pair, not per row. This is the register-blocking of llamafile's tinyBLAS_Q0 (sgemm.cpp)
/// in the dot-product form that needs no repacking of the mmapped file.
/// </para>
/// <para>
/// Every Q8_0 output is summed exactly as the single-row kernels sum it (<see cref="CpuMatMul.DotQ8"/>,
/// <see cref="CpuVnniQuantDot.Q8Rows"/>): the same integer per lane, one FMA per block in block order
/// with the scale product d_w·d_x rounded to float first, then the same
/// <see cref="Vector256.Sum{T}(Vector256{T})"/>. So a token's result does not depend on the batch
/// around it, on the tile that holds it or on the thread split. The 512-bit float steps and the
/// operands need AVX-512 (and its 32 vector registers); other CPUs keep the one-row kernels.
/// </para>
/// </summary>
internal static unsafe class CpuBlockQuantTiles
{
    private const int TileRows = 4;

    private const int TileTokens = 4;

    // Values per block (32) and the bytes of one block of the four interleaved Q8_0 rows (4 × 32).
    private const int Block = BlockQuants.BlockSize;

    private const int PanelBlock = TileRows * Block;

    /// <summary>
    /// Whether this CPU runs the tiles: AVX-VNNI for Q8_0's vpdpbusd, AVX-512 for the 512-bit float
    /// steps and 32 vector registers, and AVX-512BW for the 4/5-bit tile's 512-bit byte products.
    /// </summary>
    public static bool IsSupported => Avx512F.IsSupported && Avx512BW.IsSupported && CpuVnniQuantDot.IsSupported;

    /// <summary>Whether the tiles handle <paramref name="type"/>.</summary>
    public static bool Handles(GgmlType type) => BlockQuants.Handles(type);

    /// <summary>
    /// Floats of scratch a thread needs for the panel of a <paramref name="cols"/>-wide matrix, the
    /// larger of the two tiles' layouts: the sixteen-row panel of <see cref="CpuBlockSumTiles"/> (16 · cols
    /// bytes of quants, 32 floats of scales and offsets per block) and the four-row Q8_0 panel (4 · cols
    /// bytes, 32 floats of scales per block), and 64 bytes of slack to align the panel to a cache line.
    /// </summary>
    public static int ScratchFloats(int cols) => (((16 * cols) + (32 * sizeof(float) * (cols / Block)) + 64) / sizeof(float)) + 1;

    /// <summary>
    /// Output columns [<paramref name="rowStart"/>, <paramref name="rowEnd"/>) of <paramref name="y"/>
    /// (row stride <paramref name="yStride"/>) for every activation row of <paramref name="x"/>, which
    /// must be quantized (<see cref="CpuActivations.EnsureQuantized"/>). The range may start and end
    /// anywhere: a last group of fewer rows than a tile holds repeats its last row in the spare tile
    /// rows and stores only its own outputs. <paramref name="scratch"/> holds ≥ <see cref="ScratchFloats"/>(Cols).
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
        if (w.Type != GgmlType.Q8_0)
        {
            CpuBlockSumTiles.Rows(w, x, y, yStride, rowStart, rowEnd, panel);
            return;
        }

        var cols = w.Cols;
        var blocks = cols / Block;
        var n = x.Rows;

        // The panel (cache-line aligned by the caller), then the scales: ScratchFloats' layout.
        var scalePairs = (float*)(panel + (4 * cols));
        for (var r = rowStart; r < rowEnd; r += TileRows)
        {
            var valid = Math.Min(TileRows, rowEnd - r);
            for (var i = 0; i < TileRows; i++)
            {
                // Spare rows of a short last group repeat its last row: computed, never stored.
                Unpack(w.Row(r + Math.Min(i, valid - 1)), i, blocks, panel, scalePairs);
            }

            // The next four rows are fetched into L2 while this group computes, so the next
            // unpack does not wait on memory (rows of 768 values are 816 bytes: four of them,
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
                Tile<Four>(panel, scalePairs, x, b, blocks, y + ((nint)b * yStride) + r, yStride, valid);
            }

            // The tokens left over take the same four rows while they are still in L1.
            for (; b < n; b++)
            {
                Tile<One>(panel, scalePairs, x, b, blocks, y + ((nint)b * yStride) + r, yStride, valid);
            }
        }
    }

    /// <summary>
    /// Q8_0 weight row <paramref name="source"/> into slot <paramref name="slot"/> of the panel: its
    /// quants as unsigned bytes (q ^ 0x80 = q + 128) at panel + 128·b + 32·slot, its scale eight times
    /// at scalePairs[32·b + 8·slot] (so that a row pair's two scales fill one 16-lane vector).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Unpack(byte* source, int slot, int blocks, byte* panel, float* scalePairs)
    {
        for (var b = 0; b < blocks; b++)
        {
            // The quants are int8 already: copied straight from the block with the top bit flipped.
            var block = source + ((nint)b * Dequantize.Q8BlockBytes);
            Avx.Store(panel + ((nint)b * PanelBlock) + (slot * Block), Avx2.Xor(Avx.LoadVector256(block + 2), Vector256.Create((byte)0x80)));
            Avx.Store(scalePairs + (b * 32) + (slot * 8), Vector256.Create(HalfTable.ToSingle(*(ushort*)block)));
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
    private static void Tile<TTokens>(byte* panel, float* scalePairs, CpuActivations x, int token, int blocks, float* y, int yStride, int valid)
        where TTokens : struct, IStaticCount
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

        Store(a010, a230, y, valid);
        if (TTokens.Count > 1)
        {
            Store(a011, a231, y + yStride, valid);
            Store(a012, a232, y + (2 * (nint)yStride), valid);
            Store(a013, a233, y + (3 * (nint)yStride), valid);
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
    /// y[i] = the eight-lane sum of row i (rows 0, 1 in the halves of <paramref name="acc01"/>, 2, 3 in
    /// <paramref name="acc23"/>'s), summed as the one-row kernels' <see cref="Vector256.Sum{T}(Vector256{T})"/>,
    /// for i &lt; valid.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store(Vector512<float> acc01, Vector512<float> acc23, float* y, int valid)
    {
        y[0] = Vector256.Sum(acc01.GetLower());
        if (valid > 1)
        {
            y[1] = Vector256.Sum(acc01.GetUpper());
        }

        if (valid > 2)
        {
            y[2] = Vector256.Sum(acc23.GetLower());
        }

        if (valid > 3)
        {
            y[3] = Vector256.Sum(acc23.GetUpper());
        }
    }
}
