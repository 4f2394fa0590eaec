using Mesh.Inference.Backends.Cpu;
using Mesh.Inference.Models;
using Mesh.Kernels.Launch;
using Mesh.Kernels.Reference;

namespace Mesh.Kernels.Tests.Reference;

/// <summary>
/// The quantized prefill GEMM cannot run here, so its CPU emulation (same dequantized f32 weights,
/// same fma order) is held to the CPU backend: to the f64 product of its dequantized rows (tight)
/// and to its quantized matmul (Q8_0 activations, within their quantization error). The kernel's
/// own tiling edges (M and N not multiples of 64) are the GPU check's to show.
/// </summary>
public unsafe class QuantMatMulReferenceTests
{
    public static TheoryData<BlockQuantFormat> Formats => new(Enum.GetValues<BlockQuantFormat>());

    /// <summary>Several blocks per row: 9 of 32 values, or 2 K-quant super-blocks (every group position twice).</summary>
    private static int K(BlockQuantFormat format) => BlockQuantFormats.BlockValues(format) == 32 ? 32 * 9 : 256 * 2;

    [Theory]
    [MemberData(nameof(Formats))]
    public void The_kernels_dequantized_weights_are_the_CPU_backends_bit_for_bit(BlockQuantFormat format)
    {
        const int n = 40;
        var k = K(format);
        var (weights, _) = QuantMatVecReferenceTests.RandomProblem(format, n, 1, k, seed: 31 + (int)format);
        var rowBytes = (int)BlockQuantFormats.RowBytes(format, k);
        var kernel = new float[k];
        var cpu = new float[k];
        fixed (byte* p = weights)
        {
            var matrix = new WeightMatrix("w", QuantMatVecReferenceTests.Type(format), n, k, (nint)p);
            for (var o = 0; o < n; o++)
            {
                QuantMatMulReference.DequantizeRow(format, weights.AsSpan(o * rowBytes, rowBytes), kernel);
                Dequantize.Row(matrix, o, cpu);
                for (var i = 0; i < k; i++)
                {
                    Assert.True(BitConverter.SingleToInt32Bits(kernel[i]) == BitConverter.SingleToInt32Bits(cpu[i]),
                        $"{format} row {o} value {i}: kernel's shared-memory value {kernel[i]}, CPU dequantizer {cpu[i]}");
                }
            }
        }
        Assert.NotEqual(0f, kernel.Select(Math.Abs).Max());
    }

    [Theory]
    [MemberData(nameof(Formats))]
    public void The_GEMM_emulation_equals_the_f64_product_of_the_CPU_backends_dequantized_weights(BlockQuantFormat format)
    {
        const int m = 70, n = 67;
        var k = K(format);
        var (weights, a) = QuantMatVecReferenceTests.RandomProblem(format, n, m, k, seed: 7 + (int)format);
        var c = new float[m * n];
        QuantMatMulReference.MatMul(format, weights, a, c, m, n, k);

        var row = new float[k];
        fixed (byte* p = weights)
        {
            var matrix = new WeightMatrix("w", QuantMatVecReferenceTests.Type(format), n, k, (nint)p);
            for (var o = 0; o < n; o++)
            {
                Dequantize.Row(matrix, o, row);
                for (var t = 0; t < m; t++)
                {
                    double exact = 0, magnitude = 0;
                    for (var i = 0; i < k; i++)
                    {
                        exact += (double)row[i] * a[(t * k) + i];
                        magnitude += Math.Abs((double)row[i] * a[(t * k) + i]);
                    }
                    Assert.True(Math.Abs(c[(t * n) + o] - exact) <= 1e-5 * magnitude,
                        $"{format} token {t} row {o}: GEMM {c[(t * n) + o]}, dequantized product {exact} (Σ|aw| {magnitude})");
                }
            }
        }
    }

    [Theory]
    [MemberData(nameof(Formats))]
    public void The_GEMM_emulation_equals_the_CPU_backends_quantized_matmul_and_the_matvec(BlockQuantFormat format)
    {
        const int m = 5, n = 24;
        var k = K(format);
        var (weights, a) = QuantMatVecReferenceTests.RandomProblem(format, n, m, k, seed: 200 + (int)format);
        var c = new float[m * n];
        QuantMatMulReference.MatMul(format, weights, a, c, m, n, k);

        var cpu = new float[m * n];
        using var activations = new CpuActivations();
        var input = activations.Reset(m, k);
        a.AsSpan().CopyTo(new Span<float>(input, m * k));
        fixed (byte* p = weights)
        fixed (float* output = cpu)
        {
            new CpuParallel(1, k).MatMul(activations, (new WeightMatrix("w", QuantMatVecReferenceTests.Type(format), n, k, (nint)p), (nint)output));
        }
        var matvec = new float[m * n];
        QuantMatVecReference.MatVec(format, weights, a, matvec, m, n, k);

        var scale = Math.Sqrt(c.Select(v => (double)v * v).Average());
        for (var i = 0; i < c.Length; i++)
        {
            // The CPU backend quantizes activations to Q8_0 first (a fraction of a percent of the
            // output scale); the decode matvec sums in another order (f32 rounding only).
            Assert.True(Math.Abs(c[i] - cpu[i]) <= 0.02 * scale, $"{format} output {i}: GEMM {c[i]}, CPU backend {cpu[i]} (rms {scale})");
            Assert.True(Math.Abs(c[i] - matvec[i]) <= 1e-5 * scale, $"{format} output {i}: GEMM {c[i]}, matvec {matvec[i]} (rms {scale})");
        }
        Assert.NotEqual(0f, c.Select(Math.Abs).Max());
    }

    [Fact]
    public void K_that_is_not_whole_blocks_is_refused_naming_the_multiple()
    {
        var kquant = Assert.Throws<ArgumentException>(() => QuantMatMulReference.MatMul(BlockQuantFormat.Q4_K, new byte[144 * 2], new float[288], new float[1], 1, 1, 288));
        Assert.Contains("multiple of 256", kquant.Message);
        var partial = Assert.Throws<ArgumentException>(() => KernelShapes.MatMulQuant(4, 4, 48, BlockQuantFormat.Q8_0));
        Assert.Contains("multiple of 32", partial.Message);
        var geometry = KernelShapes.MatMulQuant(65, 130, 64, BlockQuantFormat.Q4_0);
        Assert.Equal((3u, 2u, 256u), (geometry.GridX, geometry.GridY, geometry.BlockX));
        Assert.Equal("matmul_q6_k", BlockQuantFormats.MatMulEntry(BlockQuantFormat.Q6_K));
    }
}
