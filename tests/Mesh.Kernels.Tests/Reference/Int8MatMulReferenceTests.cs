using Mesh.Inference.Backends.Cpu;
using Mesh.Inference.Models;
using Mesh.Kernels.Launch;
using Mesh.Kernels.Layout;
using Mesh.Kernels.Reference;

namespace Mesh.Kernels.Tests.Reference;

/// <summary>
/// The int8 tensor-core GEMMs cannot run here; their exact CPU form is held to the CPU backend, which
/// multiplies Q8_0 and Q4_0 weights the same way (activations quantized per 32 values, integer block dot
/// products, one scale product per block): the activation quants and scales must be the CPU
/// backend's bit for bit, and the outputs its quantized matmul's up to f32 summation order.
/// </summary>
public unsafe class Int8MatMulReferenceTests
{
    [Fact]
    public void Activation_quantization_is_the_CPU_backends_bit_for_bit()
    {
        const int rows = 9, k = 32 * 12;
        var x = RandomActivations(rows, k, seed: 5);
        // Blocks the rule must get right: all zeros, one value only, exact halves after scaling.
        x.AsSpan(0, 32).Clear();
        x.AsSpan(32, 32).Clear();
        x[40] = -3.5f;
        for (var i = 64; i < 96; i++)
        {
            x[i] = (i - 80) * 0.5f;
        }
        var quants = new sbyte[rows * k];
        var scales = new float[rows * k / 32];
        Int8MatMulReference.Quantize(x, rows, k, quants, scales);

        using var activations = new CpuActivations();
        x.AsSpan().CopyTo(new Span<float>(activations.Reset(rows, k), rows * k));
        activations.EnsureQuantized();
        Assert.Equal(new ReadOnlySpan<sbyte>(activations.Q8, rows * k).ToArray(), quants);
        var cpuScales = new ReadOnlySpan<float>(activations.Q8Scales, scales.Length).ToArray();
        Assert.Equal(cpuScales.Select(BitConverter.SingleToInt32Bits), scales.Select(BitConverter.SingleToInt32Bits));
        Assert.Equal(0f, scales[0]);
        Assert.Equal(-127, quants[40]);
    }

    public static TheoryData<BlockQuantFormat> Formats => new(BlockQuantFormat.Q8_0, BlockQuantFormat.Q4_0);

    [Theory]
    [MemberData(nameof(Formats))]
    public void The_int8_GEMM_equals_the_CPU_backends_quantized_matmul_up_to_summation_order(BlockQuantFormat format)
    {
        const int m = 37, n = 45, k = 32 * 10;
        var (weights, x) = QuantMatVecReferenceTests.RandomProblem(format, n, m, k, seed: 77 + (int)format);
        var c = Run(format, weights, x, m, n, k);
        var type = QuantMatVecReferenceTests.Type(format);

        var cpu = new float[m * n];
        var magnitude = new double[m * n];
        using var activations = new CpuActivations();
        x.AsSpan().CopyTo(new Span<float>(activations.Reset(m, k), m * k));
        fixed (byte* p = weights)
        fixed (float* output = cpu)
        {
            new CpuParallel(1, k).MatMul(activations, (new WeightMatrix("w", type, n, k, (nint)p), (nint)output));
        }
        // Σ|terms| of the block products bounds the f32 reordering error of either sum.
        var row = new float[k];
        fixed (byte* p = weights)
        {
            var matrix = new WeightMatrix("w", type, n, k, (nint)p);
            for (var o = 0; o < n; o++)
            {
                Dequantize.Row(matrix, o, row);
                for (var t = 0; t < m; t++)
                {
                    for (var i = 0; i < k; i++)
                    {
                        magnitude[(t * n) + o] += Math.Abs((double)row[i] * x[(t * k) + i]);
                    }
                }
            }
        }
        for (var i = 0; i < c.Length; i++)
        {
            Assert.True(Math.Abs(c[i] - cpu[i]) <= 1e-5 * magnitude[i], $"{format} output {i}: int8 GEMM {c[i]}, CPU backend {cpu[i]} (Σ|aw| {magnitude[i]})");
        }
        Assert.NotEqual(0f, c.Select(Math.Abs).Max());
    }

    [Theory]
    [MemberData(nameof(Formats))]
    public void The_int8_GEMM_is_within_activation_quantization_of_the_f32_GEMM(BlockQuantFormat format)
    {
        const int m = 20, n = 30, k = 32 * 8;
        var (weights, x) = QuantMatVecReferenceTests.RandomProblem(format, n, m, k, seed: 78 + (int)format);
        var c = Run(format, weights, x, m, n, k);
        var f32 = new float[m * n];
        QuantMatMulReference.MatMul(format, weights, x, f32, m, n, k);
        var rms = Math.Sqrt(f32.Select(v => (double)v * v).Average());
        for (var i = 0; i < c.Length; i++)
        {
            Assert.True(Math.Abs(c[i] - f32[i]) <= 0.02 * rms, $"{format} output {i}: int8 GEMM {c[i]}, f32 FMA GEMM {f32[i]} (rms {rms})");
        }
    }

    [Fact]
    public void K_that_is_not_whole_blocks_is_refused()
    {
        var error = Assert.Throws<ArgumentException>(() => KernelShapes.MatMulInt8(4, 4, 40));
        Assert.Contains("multiple of 32", error.Message);
        Assert.Throws<ArgumentException>(() => Int8MatMulReference.Quantize(new float[48], 1, 48, new sbyte[48], new float[2]));
        var geometry = KernelShapes.MatMulInt8(65, 130, 64);
        Assert.Equal((3u, 2u, 128u), (geometry.GridX, geometry.GridY, geometry.BlockX));
    }

    /// <summary>Splits the rows (Q8_0 as CudaMatrix uploads them, Q4_0 as the kernel unpacks it), quantizes the activations, multiplies.</summary>
    private static float[] Run(BlockQuantFormat format, byte[] weights, float[] x, int m, int n, int k)
    {
        var weightQuants = new sbyte[n * k];
        var weightScales = new Half[n * k / 32];
        if (format == BlockQuantFormat.Q8_0)
        {
            Q8Layout.Split(weights, n, k, weightQuants, weightScales);
        }
        else
        {
            Int8MatMulReference.SplitQ4_0(weights, n, k, weightQuants, weightScales);
        }
        var quants = new sbyte[m * k];
        var scales = new float[m * k / 32];
        Int8MatMulReference.Quantize(x, m, k, quants, scales);
        var c = new float[m * n];
        Int8MatMulReference.MatMul(weightQuants, weightScales, quants, scales, c, m, n, k);
        return c;
    }

    private static float[] RandomActivations(int rows, int k, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, rows * k).Select(_ => (float)((random.NextDouble() * 2) - 1)).ToArray();
    }
}
