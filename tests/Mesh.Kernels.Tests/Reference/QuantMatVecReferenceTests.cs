using Mesh.Inference.Backends.Cpu;
using Mesh.Inference.Models;
using Mesh.Inference.Models.Gguf;
using Mesh.Kernels.Launch;
using Mesh.Kernels.Reference;

namespace Mesh.Kernels.Tests.Reference;

/// <summary>
/// The quantized matvec kernels cannot run here, so their CPU emulation (same decoding, same fma
/// order) is held to the CPU backend: to its dequantizers (f64 dot of the dequantized rows, tight)
/// and to its quantized matmul (Q8_0/Q8_K activations, within the activations' quantization error).
/// </summary>
public unsafe class QuantMatVecReferenceTests
{
    public static TheoryData<BlockQuantFormat, int> Shapes => new()
    {
        { BlockQuantFormat.Q8_0, 32 * 70 },   // 70 blocks: lanes 0-5 take three, the rest two
        { BlockQuantFormat.Q4_0, 32 * 70 },
        { BlockQuantFormat.Q4_K, 256 * 3 },
        { BlockQuantFormat.Q6_K, 256 * 3 },
        { BlockQuantFormat.Q5_K, 256 * 3 },
    };

    [Theory]
    [MemberData(nameof(Shapes))]
    public void The_kernel_emulation_equals_the_dot_product_of_the_CPU_backends_dequantized_rows(BlockQuantFormat format, int k)
    {
        const int rows = 3, n = 9;
        var (weights, x) = RandomProblem(format, n, rows, k, seed: (int)format);
        var y = new float[rows * n];
        QuantMatVecReference.MatVec(format, weights, x, y, rows, n, k);

        var row = new float[k];
        fixed (byte* p = weights)
        {
            var matrix = new WeightMatrix("w", Type(format), n, k, (nint)p);
            for (var o = 0; o < n; o++)
            {
                Dequantize.Row(matrix, o, row);
                for (var r = 0; r < rows; r++)
                {
                    double exact = 0, magnitude = 0;
                    for (var i = 0; i < k; i++)
                    {
                        exact += (double)row[i] * x[(r * k) + i];
                        magnitude += Math.Abs((double)row[i] * x[(r * k) + i]);
                    }
                    // f32 accumulation over k terms: far below one part in 10^5 of Σ|w·x|.
                    Assert.True(Math.Abs(y[(r * n) + o] - exact) <= 1e-5 * magnitude,
                        $"{format} row {r} out {o}: kernel {y[(r * n) + o]}, dequantized dot {exact} (Σ|wx| {magnitude})");
                }
            }
        }
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void The_kernel_emulation_equals_the_CPU_backends_quantized_matmul(BlockQuantFormat format, int k)
    {
        const int rows = 2, n = 16;
        var (weights, x) = RandomProblem(format, n, rows, k, seed: 100 + (int)format);
        var y = new float[rows * n];
        QuantMatVecReference.MatVec(format, weights, x, y, rows, n, k);

        var cpu = new float[rows * n];
        using var activations = new CpuActivations();
        var input = activations.Reset(rows, k);
        x.AsSpan().CopyTo(new Span<float>(input, rows * k));
        fixed (byte* p = weights)
        fixed (float* output = cpu)
        {
            new CpuParallel(1, k).MatMul(activations, (new WeightMatrix("w", Type(format), n, k, (nint)p), (nint)output));
        }

        for (var i = 0; i < y.Length; i++)
        {
            // The CPU backend quantizes the activations to 8 bits (Q8_0 or Q8_K) first; its error
            // is a fraction of a percent of the output's scale, which the RMS of y measures.
            var scale = Math.Sqrt(y.Select(v => (double)v * v).Average());
            Assert.True(Math.Abs(y[i] - cpu[i]) <= 0.02 * scale, $"{format} output {i}: kernel {y[i]}, CPU backend {cpu[i]} (rms {scale})");
        }
        Assert.NotEqual(0f, y.Select(Math.Abs).Max());
    }

    [Fact]
    public void K_that_is_not_a_whole_number_of_blocks_is_refused_with_the_multiple_to_use()
    {
        var error = Assert.Throws<ArgumentException>(() => QuantMatVecReference.MatVec(BlockQuantFormat.Q4_K, new byte[144], new float[128], new float[1], 1, 1, 128));
        Assert.Contains("multiple of 256", error.Message);
    }

    internal static GgmlType Type(BlockQuantFormat format) => format switch
    {
        BlockQuantFormat.Q8_0 => GgmlType.Q8_0,
        BlockQuantFormat.Q4_0 => GgmlType.Q4_0,
        BlockQuantFormat.Q4_K => GgmlType.Q4_K,
        BlockQuantFormat.Q5_K => GgmlType.Q5_K,
        BlockQuantFormat.Q6_K => GgmlType.Q6_K,
        _ => throw new ArgumentOutOfRangeException(nameof(format), format, "no GGML type mapped"),
    };

    internal static (byte[] Weights, float[] X) RandomProblem(BlockQuantFormat format, int n, int rows, int k, int seed)
    {
        var random = new Random(seed);
        var weights = QuantMatVecReference.RandomWeights(format, n, k, random);
        var x = Enumerable.Range(0, rows * k).Select(_ => (float)((random.NextDouble() * 2) - 1)).ToArray();
        return (weights, x);
    }
}
