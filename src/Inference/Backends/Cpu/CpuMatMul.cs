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
/// which keeps results identical for every thread count.
/// </summary>
internal static unsafe class CpuMatMul
{
    /// <summary>
    /// Computes output columns [<paramref name="rowStart"/>, <paramref name="rowEnd"/>) of
    /// <paramref name="y"/> (row stride <paramref name="yStride"/>) for every activation row.
    /// <paramref name="scratch"/> holds at least one dequantized weight row (F16/BF16).
    /// </summary>
    public static void Rows(WeightMatrix w, CpuActivations x, float* y, int yStride, int rowStart, int rowEnd, Span<float> scratch)
    {
        var n = x.Rows;
        var cols = w.Cols;
        switch (w.Type)
        {
            case GgmlType.F32:
                for (var r = rowStart; r < rowEnd; r++)
                {
                    var row = new ReadOnlySpan<float>(w.Row(r), cols);
                    for (var b = 0; b < n; b++)
                    {
                        y[((nint)b * yStride) + r] = TensorPrimitives.Dot(row, x.Row(b));
                    }
                }

                break;
            case GgmlType.F16:
            case GgmlType.BF16:
                var wide = scratch[..cols];
                for (var r = rowStart; r < rowEnd; r++)
                {
                    Dequantize.Row(w, r, wide);
                    for (var b = 0; b < n; b++)
                    {
                        y[((nint)b * yStride) + r] = TensorPrimitives.Dot(wide, x.Row(b));
                    }
                }

                break;
            case GgmlType.Q8_0:
                var blocks = cols / Dequantize.Q8BlockSize;
                for (var r = rowStart; r < rowEnd; r++)
                {
                    var row = w.Row(r);
                    for (var b = 0; b < n; b++)
                    {
                        var offset = (nint)b * cols;
                        y[((nint)b * yStride) + r] = DotQ8(row, x.Q8 + offset, x.Q8Scales + (offset / Dequantize.Q8BlockSize), blocks);
                    }
                }

                break;
            default:
                throw new NotSupportedException($"tensor type {w.Type}");
        }
    }

    /// <summary>Dot product of a Q8_0 weight row with a Q8 activation row, block by block.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float DotQ8(byte* weights, sbyte* x, float* xScales, int blocks)
    {
        if (Avx2.IsSupported && Fma.IsSupported)
        {
            var acc = Vector256<float>.Zero;
            var ones = Vector256.Create((short)1);
            for (var b = 0; b < blocks; b++)
            {
                var block = weights + (b * Dequantize.Q8BlockBytes);
                var scale = (float)*(Half*)block * xScales[b];
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

            sum += dot * (float)*(Half*)block * xScales[b];
        }

        return sum;
    }
}
