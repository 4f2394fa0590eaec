using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Mesh.Inference.Models;
using Mesh.Inference.Models.Gguf;

namespace Mesh.Inference.Backends.Cpu;

/// <summary>
/// y = x · Wᵀ for a block of weight rows: every activation row of the batch is multiplied with each
/// weight row while that row is in cache, so a step reads the weights once however many tokens it
/// carries. The result of each output element does not depend on how rows are split across threads,
/// which keeps results identical for every thread count. Dispatches by weight type: f32 (and widened
/// f16/bf16) to <see cref="CpuF32MatMul"/>'s register tiles, Q8_0 here (batches to
/// <see cref="CpuBlockQuantTiles"/> where the CPU has them), the 4/5-bit and K-quant types to
/// <see cref="CpuQuantMatMul"/>.
/// </summary>
internal static unsafe class CpuMatMul
{
    /// <summary>
    /// Computes output columns [<paramref name="rowStart"/>, <paramref name="rowEnd"/>) of
    /// <paramref name="y"/> (row stride <paramref name="yStride"/>) for every activation row.
    /// <paramref name="scratch"/> holds at least one dequantized weight row (F16/BF16).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Rows(WeightMatrix w, CpuActivations x, float* y, int yStride, int rowStart, int rowEnd, Span<float> scratch)
    {
        var n = x.Rows;
        var cols = w.Cols;
        switch (w.Type)
        {
            case GgmlType.F32:
                CpuF32MatMul.Rows((float*)w.Data, w.Cols, x.F32, n, cols, y, yStride, rowStart, rowEnd);
                break;
            case GgmlType.F16:
            case GgmlType.BF16:
                fixed (float* wide = scratch)
                {
                    for (var r = rowStart; r < rowEnd; r++)
                    {
                        Dequantize.Row(w, r, scratch[..cols]);
                        CpuF32MatMul.Row(wide, x.F32, n, cols, y + r, yStride);
                    }
                }

                break;
            case GgmlType.Q8_0 when CpuQuantMatMul.UseBlockTiles(n, cols, scratch.Length):
                CpuBlockQuantTiles.Rows(w, x, y, yStride, rowStart, rowEnd, scratch);
                break;
            case GgmlType.Q8_0:
                var blocks = cols / Dequantize.Q8BlockSize;
                for (var r = rowStart; r < rowEnd; r++)
                {
                    var row = w.Row(r);
                    var b = 0;
                    if (Avx2.IsSupported && Fma.IsSupported)
                    {
                        for (; b + 4 <= n; b += 4)
                        {
                            DotQ8x4(row, x, b, blocks, y + r + ((nint)b * yStride), yStride);
                        }
                    }

                    if (b < n && (!Avx2.IsSupported || !Fma.IsSupported))
                    {
                        for (; b < n; b++)
                        {
                            var offset = (nint)b * cols;
                            y[((nint)b * yStride) + r] = DotQ8(row, x.Q8 + offset, x.Q8Scales + (offset / Dequantize.Q8BlockSize), blocks);
                        }
                    }
                }

                if (Avx2.IsSupported && Fma.IsSupported)
                {
                    for (var b = n / 4 * 4; b < n; b++)
                    {
                        var offset = (nint)b * cols;
                        if (CpuQuantMatMul.Vnni)
                        {
                            // Same integers per lane as the AVX2 kernels below, so the same bits.
                            CpuVnniQuantDot.Q8Rows(w, x.Q8 + offset, x.Q8Scales + (offset / Dequantize.Q8BlockSize), x.Q8QuadSumsNegated + (offset / 4), rowStart, rowEnd, y + ((nint)b * yStride));
                            continue;
                        }

                        var r = rowStart;
                        for (; r + 4 <= rowEnd; r += 4)
                        {
                            DotQ8FourRows(w, r, x.Q8 + offset, x.Q8Scales + (offset / Dequantize.Q8BlockSize), blocks, y + ((nint)b * yStride) + r);
                        }

                        for (; r < rowEnd; r++)
                        {
                            y[((nint)b * yStride) + r] = DotQ8(w.Row(r), x.Q8 + offset, x.Q8Scales + (offset / Dequantize.Q8BlockSize), blocks);
                        }
                    }
                }

                break;
            case var t when BlockQuants.Handles(t):
                CpuQuantMatMul.BlockRows(w, x, y, yStride, rowStart, rowEnd, scratch);
                break;
            case var t when KQuants.Handles(t):
                CpuQuantMatMul.KRows(w, x, y, yStride, rowStart, rowEnd, scratch);
                break;
            default:
                throw new NotSupportedException($"tensor type {w.Type}");
        }
    }

    /// <summary>Four Q8_0 weight rows times one Q8 activation row, each row's blocks summed in order as in <see cref="DotQ8"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void DotQ8FourRows(WeightMatrix w, int row, sbyte* x, float* xScales, int blocks, float* y)
    {
        var ones = Vector256.Create((short)1);
        byte* r0 = w.Row(row), r1 = w.Row(row + 1), r2 = w.Row(row + 2), r3 = w.Row(row + 3);
        Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default;
        for (var b = 0; b < blocks; b++)
        {
            var v = Avx.LoadVector256(x + (b * Dequantize.Q8BlockSize));
            var xs = xScales[b];
            var o = b * Dequantize.Q8BlockBytes;
            a0 = Q8Block(r0 + o, v, xs, ones, a0);
            a1 = Q8Block(r1 + o, v, xs, ones, a1);
            a2 = Q8Block(r2 + o, v, xs, ones, a2);
            a3 = Q8Block(r3 + o, v, xs, ones, a3);
        }

        y[0] = Vector256.Sum(a0);
        y[1] = Vector256.Sum(a1);
        y[2] = Vector256.Sum(a2);
        y[3] = Vector256.Sum(a3);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Q8Block(byte* block, Vector256<sbyte> v, float xScale, Vector256<short> ones, Vector256<float> acc)
    {
        var w = Avx.LoadVector256((sbyte*)(block + 2));
        var quads = Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(Avx2.Sign(w, w).AsByte(), Avx2.Sign(v, w)), ones);
        return Fma.MultiplyAdd(Avx.ConvertToVector256Single(quads), Vector256.Create(HalfTable.ToSingle(*(ushort*)block) * xScale), acc);
    }

    /// <summary>A Q8_0 weight row times four Q8 activation rows: each weight block is loaded and sign-split once.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void DotQ8x4(byte* weights, CpuActivations x, int firstRow, int blocks, float* y, int yStride)
    {
        var cols = blocks * Dequantize.Q8BlockSize;
        var q0 = x.Q8 + ((nint)firstRow * cols);
        var s0 = x.Q8Scales + ((nint)firstRow * blocks);
        var ones = Vector256.Create((short)1);
        Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default;
        for (var b = 0; b < blocks; b++)
        {
            var block = weights + (b * Dequantize.Q8BlockBytes);
            var scale = HalfTable.ToSingle(*(ushort*)block);
            var w = Avx.LoadVector256((sbyte*)(block + 2));
            var absW = Avx2.Sign(w, w).AsByte();
            var offset = b * Dequantize.Q8BlockSize;
            a0 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(absW, Avx2.Sign(Avx.LoadVector256(q0 + offset), w)), ones)), Vector256.Create(scale * s0[b]), a0);
            a1 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(absW, Avx2.Sign(Avx.LoadVector256(q0 + cols + offset), w)), ones)), Vector256.Create(scale * s0[blocks + b]), a1);
            a2 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(absW, Avx2.Sign(Avx.LoadVector256(q0 + (2 * cols) + offset), w)), ones)), Vector256.Create(scale * s0[(2 * blocks) + b]), a2);
            a3 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(absW, Avx2.Sign(Avx.LoadVector256(q0 + (3 * cols) + offset), w)), ones)), Vector256.Create(scale * s0[(3 * blocks) + b]), a3);
        }

        y[0] = Vector256.Sum(a0);
        y[yStride] = Vector256.Sum(a1);
        y[2 * (nint)yStride] = Vector256.Sum(a2);
        y[3 * (nint)yStride] = Vector256.Sum(a3);
    }

    /// <summary>Dot product of a Q8_0 weight row with a Q8 activation row, block by block.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining | MethodImplOptions.AggressiveOptimization)]
    public static float DotQ8(byte* weights, sbyte* x, float* xScales, int blocks)
    {
        if (Avx2.IsSupported && Fma.IsSupported)
        {
            var acc = Vector256<float>.Zero;
            var ones = Vector256.Create((short)1);
            for (var b = 0; b < blocks; b++)
            {
                var block = weights + (b * Dequantize.Q8BlockBytes);
                var scale = HalfTable.ToSingle(*(ushort*)block) * xScales[b];
                var w = Avx.LoadVector256((sbyte*)(block + 2));
                var v = Avx.LoadVector256(x + (b * Dequantize.Q8BlockSize));
                // maddubs multiplies unsigned by signed bytes: move w's sign onto v and use |w|.
                var absW = Avx2.Sign(w, w).AsByte();
                var signedV = Avx2.Sign(v, w);
                var pairs = Avx2.MultiplyAddAdjacent(absW, signedV);
                var quads = Avx2.MultiplyAddAdjacent(pairs, ones);
                acc = Fma.MultiplyAdd(Avx.ConvertToVector256Single(quads), Vector256.Create(scale), acc);
            }

            return Vector256.Sum(acc);
        }

        var sum = 0f;
        for (var b = 0; b < blocks; b++)
        {
            var block = weights + (b * Dequantize.Q8BlockBytes);
            var q = (sbyte*)(block + 2);
            var xb = x + (b * Dequantize.Q8BlockSize);
            var dot = 0;
            for (var i = 0; i < Dequantize.Q8BlockSize; i++)
            {
                dot += q[i] * xb[i];
            }

            sum += dot * HalfTable.ToSingle(*(ushort*)block) * xScales[b];
        }

        return sum;
    }
}
