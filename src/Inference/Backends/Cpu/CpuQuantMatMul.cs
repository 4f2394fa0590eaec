using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Mesh.Inference.Models;
using Mesh.Inference.Models.Gguf;

namespace Mesh.Inference.Backends.Cpu;

/// <summary>
/// y = x · Wᵀ for the 32-value block types (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0) against Q8_0 activations, and for
/// the K-quants (Q2_K–Q6_K) against Q8_K activations, as ggml pairs them. Each weight row is unpacked
/// once into its integer form (<see cref="BlockQuants"/>, <see cref="KQuants"/>) in thread-local
/// scratch, then multiplied with every activation row by int8 dot products (maddubs/madd, with the
/// sign of the weights moved onto the activations as ggml's AVX2 path does). Decode, batches on the
/// prefill tiles, and (for the 32-value block types) every batch on an AVX2 CPU read the rows in place
/// instead; this path remains for CPUs without AVX2 and as the benchmarks' and tests' baseline. Each
/// output is summed block by block in one fixed order, whatever the path, the thread split or the
/// batch around it.
/// </summary>
internal static unsafe class CpuQuantMatMul
{
    private static bool Simd => Avx2.IsSupported && Fma.IsSupported;

    /// <summary>
    /// Whether a single activation row (decode) takes <see cref="CpuFusedQuantDot"/>, which unpacks
    /// in registers, rather than the unpack-to-scratch path (for the 32-value block types, so does a
    /// batch that the tiles do not take). Both give bit-identical results; the switch exists so a
    /// benchmark can measure one against the other in the same run.
    /// </summary>
    internal static bool FusedDecode { get; set; } = true;

    /// <summary>
    /// Whether decode's int8 dot products (the fused kernels) take vpdpbusd
    /// (<see cref="CpuVnniQuantDot"/>) where the CPU has AVX-VNNI, rather than the AVX2 maddubs/madd
    /// kernels. Both give bit-identical results; the switch exists so a benchmark and the tests can
    /// hold one against the other in the same run. Setting it has no effect without AVX-VNNI.
    /// </summary>
    internal static bool Vnni
    {
        get => s_vnni && CpuVnniQuantDot.IsSupported;
        set => s_vnni = value;
    }

    private static bool s_vnni = true;

    /// <summary>
    /// Whether steps of two or more activation rows take the int8 register tiles where the CPU has
    /// them (<see cref="CpuBlockSumTiles"/> for the 32-value block types,
    /// <see cref="CpuKQuantTiles"/> for the K-quants: AVX-512 and AVX-VNNI), rather than one dot
    /// product per (row, token). Both give bit-identical results; the switch exists so a benchmark
    /// and the tests can hold one against the other in the same run. Setting it has no effect on
    /// CPUs without the tiles.
    /// </summary>
    internal static bool PrefillTiles { get; set; } = true;

    /// <summary>
    /// Whether a batch of <paramref name="rows"/> activation rows times a <paramref name="cols"/>-wide
    /// matrix takes <see cref="CpuBlockSumTiles"/>, given <paramref name="scratchFloats"/> floats of scratch.
    /// </summary>
    internal static bool UseBlockTiles(int rows, int cols, int scratchFloats) =>
        rows >= 2 && PrefillTiles && CpuBlockSumTiles.IsSupported && scratchFloats >= CpuBlockSumTiles.ScratchFloats(cols);

    /// <summary>
    /// Floats of per-thread scratch the tile kernel of <paramref name="type"/> needs for a
    /// <paramref name="cols"/>-wide matrix (its panel); 0 for types without tiles. Callers
    /// with less scratch get the one-row kernels (same bits, slower).
    /// </summary>
    internal static int TileScratchFloats(GgmlType type, int cols) =>
        BlockQuants.Handles(type) ? CpuBlockSumTiles.ScratchFloats(cols)
        : KQuants.Handles(type) ? CpuKQuantTiles.ScratchFloats(cols)
        : 0;

    /// <summary>
    /// The byte shuffle that puts int16 lane 2k of a 128-bit lane into all 8 int16 lanes of the low
    /// half and lane 2k + 1 into all of the high half (groups 2k and 2k + 1 of a quarter).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector256<byte> ScaleShuffle(int k)
    {
        var low = (ushort)((4 * k) | (((4 * k) + 1) << 8));
        var high = (ushort)(((4 * k) + 2) | (((4 * k) + 3) << 8));
        return Vector256.Create(Vector128.Create(low), Vector128.Create(high)).AsByte();
    }

    /// <summary>
    /// Output columns [rowStart, rowEnd) of y for a Q4_0/Q4_1/Q5_0/Q5_1/Q8_0 matrix; <paramref name="scratch"/>
    /// holds ≥ Cols floats. Batches take <see cref="CpuBlockSumTiles"/> where <see cref="UseBlockTiles"/> says so.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void BlockRows(WeightMatrix w, CpuActivations x, float* y, int yStride, int rowStart, int rowEnd, Span<float> scratch)
    {
        if (UseBlockTiles(x.Rows, w.Cols, scratch.Length))
        {
            CpuBlockSumTiles.Rows(w, x, y, yStride, rowStart, rowEnd, scratch);
            return;
        }

        if (FusedDecode && CpuFusedQuantDot.Handles(w.Type))
        {
            // One activation row, or a batch where the CPU has no tiles: eight rows at a time read in
            // place serve every token (unpacking into scratch would cost as much as a decode step's
            // dot product, and the one-row dot below reduces its lanes once per block and token).
            if (Vnni)
            {
                CpuVnniQuantDot.BlockRows(w, x, y, yStride, rowStart, rowEnd);
            }
            else
            {
                CpuFusedQuantDot.BlockRows(w, x, y, yStride, rowStart, rowEnd);
            }

            return;
        }

        var cols = w.Cols;
        var blocks = cols / BlockQuants.BlockSize;
        var hasOffset = w.Type is GgmlType.Q4_1 or GgmlType.Q5_1;
        fixed (float* room = scratch)
        {
            // Layout: cols int8 quants, then a scale and an offset per block (cols is a multiple of 32).
            var q = (sbyte*)room;
            var d = (float*)(q + cols);
            var m = d + blocks;
            for (var r = rowStart; r < rowEnd; r++)
            {
                BlockQuants.Unpack(w.Type, w.Row(r), blocks, q, d, m);
                for (var b = 0; b < x.Rows; b++)
                {
                    var xBlocks = (nint)b * blocks;
                    y[((nint)b * yStride) + r] = DotBlocks(q, d, hasOffset ? m : null, x.Q8 + ((nint)b * cols), x.Q8Scales + xBlocks, x.Q8Offsets + xBlocks, blocks);
                }
            }
        }
    }

    /// <summary>Output columns [rowStart, rowEnd) of y for a K-quant matrix; <paramref name="scratch"/> holds ≥ Cols floats.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void KRows(WeightMatrix w, CpuActivations x, float* y, int yStride, int rowStart, int rowEnd, Span<float> scratch)
    {
        if (x.Rows == 1 && FusedDecode && CpuFusedQuantDot.Handles(w.Type))
        {
            if (Vnni)
            {
                CpuVnniQuantDot.KRows(w, x, y, rowStart, rowEnd);
            }
            else
            {
                CpuFusedQuantDot.KRows(w, x, y, rowStart, rowEnd);
            }

            return;
        }

        if (x.Rows > 1 && PrefillTiles && CpuKQuantTiles.IsSupported && scratch.Length >= CpuKQuantTiles.ScratchFloats(w.Cols))
        {
            CpuKQuantTiles.Rows(w, x, y, yStride, rowStart, rowEnd, scratch);
            return;
        }

        var cols = w.Cols;
        var superBlocks = cols / KQuants.SuperBlockSize;
        var groups = cols / KQuants.GroupSize;
        var hasMins = w.Type is GgmlType.Q2_K or GgmlType.Q4_K or GgmlType.Q5_K;
        fixed (float* room = scratch)
        {
            // Layout: cols int8 quants, a scale and a min per group of 16, d and dmin per super-block.
            var q = (sbyte*)room;
            var scales = q + cols;
            var mins = scales + groups;
            var d = (float*)(mins + groups);
            var dmin = d + superBlocks;
            for (var r = rowStart; r < rowEnd; r++)
            {
                KQuants.Unpack(w.Type, w.Row(r), superBlocks, q, scales, mins, d, dmin);
                for (var b = 0; b < x.Rows; b++)
                {
                    y[((nint)b * yStride) + r] = DotK(
                        q, scales, hasMins ? mins : null, d, dmin,
                        x.Q8K + ((nint)b * cols), x.Q8KScales + ((nint)b * superBlocks), x.Q8KSums + ((nint)b * groups), superBlocks);
                }
            }
        }
    }

    /// <summary>
    /// Σ over blocks of d_w·d_x·(q_w · q_x) + m_w·(d_x·Σq_x): one 32-value block type row times one
    /// Q8_0 row, summed in <see cref="CpuBlockSums"/>' order (an exact integer per block, then one
    /// FMA per block), as every other kernel of these types sums it.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining | MethodImplOptions.AggressiveOptimization)]
    private static float DotBlocks(sbyte* wq, float* wd, float* wm, sbyte* xq, float* xd, float* xOffsets, int blocks)
    {
        var offset = 0f;
        if (wm is not null)
        {
            for (var b = 0; b < blocks; b++)
            {
                offset += wm[b] * xOffsets[b];
            }
        }

        var acc = 0f;
        if (Simd)
        {
            var ones = Vector256.Create((short)1);
            for (var b = 0; b < blocks; b++)
            {
                var w = Avx.LoadVector256(wq + (b * BlockQuants.BlockSize));
                var v = Avx.LoadVector256(xq + (b * BlockQuants.BlockSize));
                var quads = Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(Avx2.Sign(w, w).AsByte(), Avx2.Sign(v, w)), ones);
                acc = MathF.FusedMultiplyAdd(Vector256.Sum(quads), wd[b] * xd[b], acc);
            }

            return acc + offset;
        }

        for (var b = 0; b < blocks; b++)
        {
            var dot = 0;
            for (var i = 0; i < BlockQuants.BlockSize; i++)
            {
                dot += wq[(b * BlockQuants.BlockSize) + i] * xq[(b * BlockQuants.BlockSize) + i];
            }

            acc = MathF.FusedMultiplyAdd(dot, wd[b] * xd[b], acc);
        }

        return acc + offset;
    }

    /// <summary>
    /// Σ over super-blocks of d_w·d_x·Σ_g scale_g·(q_w · q_x)_g − dmin_w·d_x·Σ_g min_g·Σq_x,g: one
    /// K-quant row times one Q8_K row. The integer sums stay exact within a super-block.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining | MethodImplOptions.AggressiveOptimization)]
    private static float DotK(sbyte* wq, sbyte* scales, sbyte* mins, float* wd, float* wdmin, sbyte* xq, float* xd, short* xSums, int superBlocks)
    {
        const int groups = KQuants.GroupsPerSuperBlock;
        if (Simd)
        {
            var acc = Vector256<float>.Zero;
            var accMin = Vector256<float>.Zero;
            for (var s = 0; s < superBlocks; s++)
            {
                // The 16 group scales as int16, groups 0–7 in both 128-bit lanes (first) or 8–15
                // (second); a byte shuffle then spreads groups 2p and 2p + 1 over the two lanes.
                var wide = Avx2.ConvertToVector256Int16(Sse2.LoadVector128(scales + (s * groups)));
                var first = Avx2.Permute2x128(wide, wide, 0x00).AsByte();
                var second = Avx2.Permute2x128(wide, wide, 0x11).AsByte();
                var isum = Vector256<int>.Zero;
                var wBase = wq + (s * KQuants.SuperBlockSize);
                var xBase = xq + (s * KQuants.SuperBlockSize);
                for (var p = 0; p < groups / 2; p++)
                {
                    var w = Avx.LoadVector256(wBase + (p * 32));
                    var v = Avx.LoadVector256(xBase + (p * 32));
                    // 16 pair sums: lanes 0–7 from group 2p, lanes 8–15 from group 2p + 1.
                    var pairs = Avx2.MultiplyAddAdjacent(Avx2.Sign(w, w).AsByte(), Avx2.Sign(v, w));
                    var scale = Avx2.Shuffle(p < 4 ? first : second, ScaleShuffle(p % 4)).AsInt16();
                    isum = Avx2.Add(isum, Avx2.MultiplyAddAdjacent(pairs, scale));
                }

                acc = Fma.MultiplyAdd(Avx.ConvertToVector256Single(isum), Vector256.Create(wd[s] * xd[s]), acc);
                if (mins is not null)
                {
                    var m = Avx2.MultiplyAddAdjacent(Avx2.ConvertToVector256Int16(Sse2.LoadVector128(mins + (s * groups))), Avx.LoadVector256(xSums + (s * groups)));
                    accMin = Fma.MultiplyAdd(Avx.ConvertToVector256Single(m), Vector256.Create(wdmin[s] * xd[s]), accMin);
                }
            }

            return Vector256.Sum(acc) - Vector256.Sum(accMin);
        }

        var sum = 0f;
        var minTerm = 0f;
        for (var s = 0; s < superBlocks; s++)
        {
            int isum = 0, msum = 0;
            for (var g = 0; g < groups; g++)
            {
                var dot = 0;
                for (var i = 0; i < KQuants.GroupSize; i++)
                {
                    var k = (s * KQuants.SuperBlockSize) + (g * KQuants.GroupSize) + i;
                    dot += wq[k] * xq[k];
                }

                isum += scales[(s * groups) + g] * dot;
                msum += mins is null ? 0 : mins[(s * groups) + g] * xSums[(s * groups) + g];
            }

            sum += isum * (wd[s] * xd[s]);
            minTerm += msum * (wdmin[s] * xd[s]);
        }

        return sum - minTerm;
    }
}
