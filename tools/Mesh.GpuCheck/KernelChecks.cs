using System.Runtime.InteropServices;
using Mesh.Kernels;
using Mesh.Kernels.Driver;
using Mesh.Kernels.Launch;
using Mesh.Kernels.Layout;
using Mesh.Kernels.Reference;
using static Mesh.GpuCheck.DeviceData;

namespace Mesh.GpuCheck;

/// <summary>
/// Runs every kernel once on fresh random inputs with NaN-poisoned outputs and compares with
/// <see cref="ReferenceKernels"/> by relative error (thresholds per precision: f32 paths 1e-5,
/// ex2.approx paths 1e-4, bf16/f16 tensor-core products 1e-3 of inputs already rounded). One
/// file per kernel family: KernelChecks.Elementwise/Attention/MatMul/Sampling.cs.
/// </summary>
internal sealed partial class KernelChecks(CudaKernels kernels, Random random)
{
    private readonly CudaKernels _kernels = kernels;
    private readonly Random _random = random;

    public List<CorrectnessResult> Results { get; } = [];

    public void RunAll()
    {
        ElementWise();
        RmsNorm();
        Rope();
        Embedding();
        KvAppendAndAttention(tokens: 1, heads: 32, kvHeads: 8, headDim: 64, lengths: [1, 300, 4096, 77]);
        KvAppendAndAttention(tokens: 1, heads: 8, kvHeads: 8, headDim: 128, lengths: [513]);
        AttentionPrefill(tokens: 200, heads: 8, kvHeads: 2);
        AttentionPrefill(tokens: 64, heads: 4, kvHeads: 4);
        foreach (var format in Enum.GetValues<WeightFormat>())
        {
            MatVec(format, n: 2048 + 8 * 3, k: 2048, rows: 1);
            MatVec(format, n: 1000, k: 512, rows: 7);
        }
        foreach (var format in Enum.GetValues<BlockQuantFormat>())
        {
            MatVecQuant(format, n: 2048 + 8 * 3, k: 2048, rows: 1);
            MatVecQuant(format, n: 1000, k: 4096 + 256, rows: 3);
        }
        foreach (var format in Enum.GetValues<BlockQuantFormat>())
        {
            MatMulQuant(format, m: 300, n: 520, k: 256); // partial tiles in M and N
            MatMulQuant(format, m: 64, n: 2048, k: 2048);
        }
        foreach (var format in new[] { BlockQuantFormat.Q8_0, BlockQuantFormat.Q4_0 })
        {
            MatMulInt8(format, m: 300, n: 520, k: 256); // partial tiles in M and N
            MatMulInt8(format, m: 64, n: 2048, k: 2048);
        }
        MatMul(WeightFormat.BF16, 300, 520, 256);
        MatMul(WeightFormat.F16, 128, 128, 64);
        MatMul(WeightFormat.BF16, 1024, 1024, 1024);
        if (_kernels.HasHopperKernels)
        {
            MatMulHopper(300, 520, 256);
            MatMulHopper(1024, 1024, 1024);
        }
        Sampling();
    }

    private void Record(string kernel, string shape, float[] output, float[] reference, double threshold, string note = "")
    {
        var error = RelativeError(output, reference);
        var written = AllWritten(output);
        Results.Add(new CorrectnessResult(kernel, shape, error, threshold, written, written && error <= threshold, note));
    }

    internal static string Name(WeightFormat format) => format switch
    {
        WeightFormat.F32 => "f32",
        WeightFormat.F16 => "f16",
        WeightFormat.BF16 => "bf16",
        _ => "q8_0",
    };

    /// <summary>Stores f32 values in a weight format's file encoding (GGML Q8_0 blocks for Q8_0).</summary>
    internal static byte[] Encode(WeightFormat format, float[] values, int rows, int cols)
    {
        _ = rows;
        _ = cols;
        return format switch
        {
            WeightFormat.F32 => MemoryMarshal.AsBytes(values.AsSpan()).ToArray(),
            WeightFormat.F16 => MemoryMarshal.AsBytes(ToF16(values).AsSpan()).ToArray(),
            WeightFormat.BF16 => MemoryMarshal.AsBytes(ToBf16(values).AsSpan()).ToArray(),
            _ => Q8(values),
        };

        static byte[] Q8(float[] v)
        {
            var bytes = new byte[v.Length / 32 * 34];
            Mesh.Inference.Models.Dequantize.SingleToQ8(v, bytes);
            return bytes;
        }
    }

    /// <summary>Uploads encoded weights as the backend does (Q8_0 split into quants and scales).</summary>
    internal static (DeviceBuffer Data, DeviceBuffer? Scales) UploadWeights(WeightFormat format, byte[] bytes, int rows, int cols)
    {
        if (format != WeightFormat.Q8_0)
        {
            return (Upload(bytes), null);
        }
        var quants = new sbyte[(long)rows * cols];
        var scales = new Half[quants.Length / 32];
        Q8Layout.Split(bytes, rows, cols, quants, scales);
        return (Upload(quants), Upload(scales));
    }
}

internal static class QueueExtensions
{
    public static Queue<T> ToQueue<T>(this IEnumerable<T> items) => new(items);
}
