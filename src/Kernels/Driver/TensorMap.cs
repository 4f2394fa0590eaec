namespace Mesh.Kernels.Driver;

/// <summary>
/// A TMA tensor map (<c>CUtensorMap</c>, 128 opaque bytes) describing a 2-D row-major bf16 matrix
/// and the tile (box) the Hopper copy engine moves per <c>cp.async.bulk.tensor</c>. Built on the host
/// by <c>cuTensorMapEncodeTiled</c>, which validates it (alignment, strides, box limits) and fails
/// with a <see cref="CudaException"/> naming the call.
/// </summary>
public static unsafe class TensorMap
{
    /// <summary>Size of one <c>CUtensorMap</c> descriptor, in bytes (cuda.h: 128, 64-byte aligned).</summary>
    public const int Bytes = 128;
    private const int DataTypeBFloat16 = 9, InterleaveNone = 0, Swizzle128B = 3, L2Promotion256B = 3, OobFillZero = 0;

    /// <summary>
    /// Encodes a map of a [<paramref name="rows"/>][<paramref name="cols"/>] bf16 matrix at
    /// <paramref name="address"/> with <paramref name="boxCols"/>×<paramref name="boxRows"/> tiles,
    /// 128-byte swizzled in shared memory, zeros for elements outside the matrix.
    /// </summary>
    public static byte[] EncodeBFloat16(ulong address, ulong rows, ulong cols, uint boxRows, uint boxCols)
    {
        var map = new byte[Bytes];
        var globalDim = stackalloc ulong[] { cols, rows };
        var globalStrides = stackalloc ulong[] { cols * 2 };
        var box = stackalloc uint[] { boxCols, boxRows };
        var elementStrides = stackalloc uint[] { 1, 1 };
        fixed (byte* p = map)
        {
            Cu.Check(NativeMethods.cuTensorMapEncodeTiled(p, DataTypeBFloat16, 2, address, globalDim, globalStrides, box, elementStrides,
                InterleaveNone, Swizzle128B, L2Promotion256B, OobFillZero), $"cuTensorMapEncodeTiled({rows}x{cols} bf16, box {boxRows}x{boxCols})");
        }
        return map;
    }
}
