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
/// f16/bf16) to <see cref="CpuF32MatMul"/>'s register tiles, the 32-value block types (Q8_0, Q4_0,
/// Q4_1, Q5_0, Q5_1) and the K-quants to <see cref="CpuQuantMatMul"/>.
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
}
