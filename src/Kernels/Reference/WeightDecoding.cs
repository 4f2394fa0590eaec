using System.Runtime.InteropServices;
using Mesh.Kernels.Launch;
using Mesh.Kernels.Layout;

namespace Mesh.Kernels.Reference;

/// <summary>
/// How the kernels turn stored weights into f32, element for element: f16 by the hardware
/// conversion (IEEE, exact), bf16 as the top half of an f32 (exact), Q8_0 as scale · quant from
/// the split layout. Tests hold these equal to the CPU backend's dequantization.
/// </summary>
public static class WeightDecoding
{
    /// <summary>Decodes the <paramref name="rows"/>×<paramref name="cols"/> row-major matrix <paramref name="data"/> stored as <paramref name="format"/> into f32 values.</summary>
    public static float[] Decode(WeightFormat format, ReadOnlySpan<byte> data, int rows, int cols)
    {
        var count = rows * cols;
        var result = new float[count];
        switch (format)
        {
            case WeightFormat.F32:
                MemoryMarshal.Cast<byte, float>(data)[..count].CopyTo(result);
                break;
            case WeightFormat.F16:
                var halves = MemoryMarshal.Cast<byte, Half>(data);
                for (var i = 0; i < count; i++)
                {
                    result[i] = (float)halves[i];
                }
                break;
            case WeightFormat.BF16:
                var bits = MemoryMarshal.Cast<byte, ushort>(data);
                for (var i = 0; i < count; i++)
                {
                    result[i] = BitConverter.UInt32BitsToSingle((uint)bits[i] << 16);
                }
                break;
            case WeightFormat.Q8_0:
                var quants = new sbyte[count];
                var scales = new Half[count / Q8Layout.BlockValues];
                Q8Layout.Split(data, rows, cols, quants, scales);
                for (var r = 0; r < rows; r++)
                {
                    for (var c = 0; c < cols; c++)
                    {
                        result[(r * cols) + c] = Q8Layout.Value(quants, scales, cols, r, c);
                    }
                }
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(format), format, "unknown weight format");
        }
        return result;
    }
}
