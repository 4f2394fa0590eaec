using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Mesh.Inference.Backends.Cpu;

namespace Mesh.Inference.Tests.Backends;

/// <summary>
/// The f32 register tiles: every output, whichever tile computes it (4 rows × 4 tokens, 4 × 1,
/// 1 × 4 or a lone dot product), has exactly the bits of the single dot product, for every token
/// count, row range and column count (multiples of 16 and not), so a token's logits do not depend on
/// the batch around it or the thread split; and the tiles agree with the AVX2 kernels and an f64
/// reference to rounding.
/// </summary>
[Collection(SerialCollection.Name)]
public sealed unsafe class CpuF32MatMulTests
{
    [Avx512Fact]
    public void PackedReductionOfFourAccumulatorsEqualsFourSingleReductions()
    {
        var random = new Random(7);
        for (var trial = 0; trial < 1000; trial++)
        {
            var a = Enumerable.Range(0, 4).Select(_ => Vector512.Create([.. Enumerable.Range(0, 16).Select(_ => (float)((random.NextDouble() - 0.5) * Math.Pow(10, random.Next(-3, 4))))])).ToArray();
            var packed = CpuF32MatMul.Reduce4(a[0], a[1], a[2], a[3]);
            for (var i = 0; i < 4; i++)
            {
                Assert.Equal(BitConverter.SingleToInt32Bits(CpuF32MatMul.Reduce(a[i])), BitConverter.SingleToInt32Bits(packed.GetElement(i)));
            }
        }
    }

    [Avx512Theory]
    [InlineData(1, 64)]
    [InlineData(3, 40)]
    [InlineData(4, 768)]
    [InlineData(5, 773)]
    [InlineData(9, 16)]
    [InlineData(13, 35)]
    public void EveryTileGivesTheBitsOfTheSingleDotProduct(int tokens, int cols)
    {
        const int rows = 23;
        var random = new Random((tokens * 1000) + cols);
        var w = Random(rows * cols, random);
        var x = Random(tokens * cols, random);
        var y = new float[tokens * rows];
        fixed (float* pw = w, px = x, py = y)
        {
            // Ranges that start and end off a multiple of four, as the thread split makes them.
            foreach (var (start, end) in new[] { (0, 7), (7, 18), (18, 23) })
            {
                CpuF32MatMul.Rows(pw, cols, px, tokens, cols, py, rows, start, end);
            }

            for (var b = 0; b < tokens; b++)
            {
                for (var r = 0; r < rows; r++)
                {
                    var single = CpuF32MatMul.DotWide(pw + (r * cols), px + (b * cols), cols);
                    Assert.Equal(BitConverter.SingleToInt32Bits(single), BitConverter.SingleToInt32Bits(y[(b * rows) + r]));
                }
            }

            // The widened-row path (f16/bf16 weights) takes the same tiles.
            var row = new float[tokens * rows];
            fixed (float* pr = row)
            {
                CpuF32MatMul.Row(pw + (5 * cols), px, tokens, cols, pr + 5, rows);
            }

            for (var b = 0; b < tokens; b++)
            {
                Assert.Equal(y[(b * rows) + 5], row[(b * rows) + 5]);
            }
        }
    }

    [Fact]
    public void TilesAndTheAvx2KernelsAgreeWithTheF64Product()
    {
        const int rows = 10, tokens = 6, cols = 300;
        var random = new Random(3);
        var w = Random(rows * cols, random);
        var x = Random(tokens * cols, random);
        foreach (var wide in new[] { false, true })
        {
            var y = new float[tokens * rows];
            try
            {
                CpuF32MatMul.Wide = wide && Avx512F.IsSupported;
                fixed (float* pw = w, px = x, py = y)
                {
                    CpuF32MatMul.Rows(pw, cols, px, tokens, cols, py, rows, 0, rows);
                }
            }
            finally
            {
                CpuF32MatMul.Wide = Avx512F.IsSupported;
            }

            for (var b = 0; b < tokens; b++)
            {
                for (var r = 0; r < rows; r++)
                {
                    double exact = 0, magnitude = 0;
                    for (var k = 0; k < cols; k++)
                    {
                        exact += (double)w[(r * cols) + k] * x[(b * cols) + k];
                        magnitude += Math.Abs((double)w[(r * cols) + k] * x[(b * cols) + k]);
                    }

                    Assert.True(Math.Abs(y[(b * rows) + r] - exact) <= 1e-6 * magnitude, $"wide={wide} token {b} row {r}: {y[(b * rows) + r]} vs {exact}");
                }
            }
        }
    }

    private static float[] Random(int length, Random random) => [.. Enumerable.Range(0, length).Select(_ => (float)(random.NextDouble() - 0.5))];

    /// <summary>A fact that is skipped, saying why, where the CPU has no AVX-512.</summary>
    public sealed class Avx512FactAttribute : FactAttribute
    {
        public Avx512FactAttribute() => Skip = Avx512F.IsSupported ? null : "this CPU has no AVX-512, so the f32 tiles do not run here (the AVX2 kernels do)";
    }

    /// <summary>A theory that is skipped, saying why, where the CPU has no AVX-512.</summary>
    public sealed class Avx512TheoryAttribute : TheoryAttribute
    {
        public Avx512TheoryAttribute() => Skip = Avx512F.IsSupported ? null : "this CPU has no AVX-512, so the f32 tiles do not run here (the AVX2 kernels do)";
    }
}
