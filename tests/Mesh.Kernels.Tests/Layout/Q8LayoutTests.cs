using Mesh.Inference.Models;
using Mesh.Kernels.Layout;

namespace Mesh.Kernels.Tests.Layout;

public unsafe class Q8LayoutTests
{
    [Fact]
    public void The_split_layout_dequantizes_to_what_the_CPU_backend_reads()
    {
        const int rows = 3, cols = 96;
        var random = new Random(5);
        var values = Enumerable.Range(0, rows * cols).Select(_ => (float)(random.NextDouble() * 4 - 2)).ToArray();
        var ggml = new byte[rows * cols / 32 * 34];
        Dequantize.SingleToQ8(values, ggml);

        var quants = new sbyte[rows * cols];
        var scales = new Half[rows * cols / 32];
        Q8Layout.Split(ggml, rows, cols, quants, scales);

        var cpu = new float[rows * cols];
        fixed (byte* p = ggml)
        {
            Dequantize.Q8ToSingle(p, rows * cols, cpu);
        }
        for (var r = 0; r < rows; r++)
        {
            for (var c = 0; c < cols; c++)
            {
                Assert.Equal(cpu[(r * cols) + c], Q8Layout.Value(quants, scales, cols, r, c));
            }
        }
    }

    [Fact]
    public void Rows_that_are_not_whole_blocks_or_short_data_are_rejected()
    {
        var e = Assert.Throws<ArgumentException>(() => Q8Layout.Split(new byte[34], 1, 30, new sbyte[30], new Half[1]));
        Assert.Contains("multiple of 32", e.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => Q8Layout.Split(new byte[33], 1, 32, new sbyte[32], new Half[1]));
    }
}
