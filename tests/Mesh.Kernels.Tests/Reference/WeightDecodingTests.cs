using Mesh.Inference.Models;
using Mesh.Inference.Models.Gguf;
using Mesh.Kernels.Launch;
using Mesh.Kernels.Reference;

namespace Mesh.Kernels.Tests.Reference;

public unsafe class WeightDecodingTests
{
    [Theory]
    [InlineData(GgmlType.F32, WeightFormat.F32)]
    [InlineData(GgmlType.F16, WeightFormat.F16)]
    [InlineData(GgmlType.BF16, WeightFormat.BF16)]
    [InlineData(GgmlType.Q8_0, WeightFormat.Q8_0)]
    public void The_kernels_decode_every_weight_format_exactly_as_the_CPU_backend(GgmlType type, WeightFormat format)
    {
        const int rows = 4, cols = 64;
        var random = new Random((int)type);
        var values = Enumerable.Range(0, rows * cols).Select(_ => (float)(random.NextDouble() * 6 - 3)).ToArray();
        var data = Encode(type, values);

        var gpu = WeightDecoding.Decode(format, data, rows, cols);

        fixed (byte* p = data)
        {
            var matrix = new WeightMatrix("w", type, rows, cols, (nint)p);
            var row = new float[cols];
            for (var r = 0; r < rows; r++)
            {
                Dequantize.Row(matrix, r, row);
                Assert.Equal(row, gpu.AsSpan(r * cols, cols).ToArray());
            }
        }
    }

    private static byte[] Encode(GgmlType type, float[] values)
    {
        switch (type)
        {
            case GgmlType.F32:
                return values.SelectMany(BitConverter.GetBytes).ToArray();
            case GgmlType.F16:
                return values.SelectMany(v => BitConverter.GetBytes((Half)v)).ToArray();
            case GgmlType.BF16:
                return values.SelectMany(v => BitConverter.GetBytes(Dequantize.SingleToBFloat16(v))).ToArray();
            default:
                var q8 = new byte[values.Length / 32 * 34];
                Dequantize.SingleToQ8(values, q8);
                return q8;
        }
    }
}
