using Mesh.Inference.Models;
using Mesh.Inference.Models.Gguf;
using Mesh.Kernels.Driver;
using Mesh.Kernels.Launch;
using Mesh.Kernels.Layout;

namespace Mesh.Inference.Backends.Cuda;

/// <summary>
/// A weight matrix in device memory, in the form the kernels read: f32, f16 and bf16 as stored in
/// the file; Q8_0 split into int8 quants and f16 scales (<see cref="Q8Layout"/>) for aligned loads;
/// Q4_0, Q4_K, Q5_K and Q6_K in ggml's block layout as stored (<see cref="Quant"/>, read by the quantized
/// matvecs). Serving does not pick the CUDA backend for those four yet (<see cref="UnreadableTypes"/>):
/// only the GPU check's backend agreement runs them until a GPU run has passed it.
/// </summary>
internal sealed class CudaMatrix : IDisposable
{
    private CudaMatrix(WeightFormat format, int rows, int cols, DeviceBuffer data, DeviceBuffer? scales, BlockQuantFormat? quant = null)
    {
        Format = format;
        Quant = quant;
        Rows = rows;
        Cols = cols;
        Data = data;
        Scales = scales;
    }

    public WeightFormat Format { get; }

    /// <summary>The ggml block format of a Q4_0/Q4_K/Q5_K/Q6_K matrix (then <see cref="Format"/> is meaningless), else null.</summary>
    public BlockQuantFormat? Quant { get; }

    public int Rows { get; }

    public int Cols { get; }

    public DeviceBuffer Data { get; }

    public DeviceBuffer? Scales { get; }

    public long DeviceBytes => (long)Data.Bytes + (long)(Scales?.Bytes ?? 0);

    public static WeightFormat FormatOf(GgmlType type) => type switch
    {
        GgmlType.F32 => WeightFormat.F32,
        GgmlType.F16 => WeightFormat.F16,
        GgmlType.BF16 => WeightFormat.BF16,
        GgmlType.Q8_0 => WeightFormat.Q8_0,
        _ => throw new NotSupportedException($"the CUDA backend cannot read {type} weights"),
    };

    /// <summary>The weight types of <paramref name="weights"/> the kernels cannot read, as "Q4_K, Q6_K", or null when there are none.</summary>
    public static string? UnreadableTypes(LlamaWeights weights)
    {
        var types = weights.Matrices.Select(m => m.Type).Distinct()
            .Where(t => t is not (GgmlType.F32 or GgmlType.F16 or GgmlType.BF16 or GgmlType.Q8_0))
            .Order()
            .ToArray();
        return types.Length == 0 ? null : string.Join(", ", types);
    }

    /// <summary>The quantized matvec format of <paramref name="type"/>, or null.</summary>
    public static BlockQuantFormat? QuantFormatOf(GgmlType type) => type switch
    {
        GgmlType.Q4_0 => BlockQuantFormat.Q4_0,
        GgmlType.Q4_K => BlockQuantFormat.Q4_K,
        GgmlType.Q5_K => BlockQuantFormat.Q5_K,
        GgmlType.Q6_K => BlockQuantFormat.Q6_K,
        _ => null,
    };

    /// <summary>Copies <paramref name="matrix"/> to the device dequantized to f32 (the embedding of a block-quantized model: a row gather, not a matvec).</summary>
    public static CudaMatrix UploadDequantized(WeightMatrix matrix)
    {
        var values = new float[(long)matrix.Rows * matrix.Cols];
        for (var r = 0; r < matrix.Rows; r++)
        {
            Dequantize.Row(matrix, r, values.AsSpan(r * matrix.Cols, matrix.Cols));
        }
        var data = DeviceBuffer.Allocate<float>(values.Length);
        data.CopyFrom<float>(values);
        return new CudaMatrix(WeightFormat.F32, matrix.Rows, matrix.Cols, data, null);
    }

    /// <summary>Copies <paramref name="matrix"/> to the device, checking the matvec kernel can read its rows.</summary>
    public static unsafe CudaMatrix Upload(WeightMatrix matrix)
    {
        if (QuantFormatOf(matrix.Type) is { } quant)
        {
            KernelShapes.MatVecQuant(matrix.Rows, matrix.Cols, quant); // K a whole number of blocks, or a clear error
            var raw = DeviceBuffer.Allocate((ulong)matrix.ByteLength);
            raw.CopyFrom(new ReadOnlySpan<byte>((void*)matrix.Data, checked((int)matrix.ByteLength)));
            return new CudaMatrix(WeightFormat.F32, matrix.Rows, matrix.Cols, raw, null, quant);
        }

        var format = FormatOf(matrix.Type);
        var multiple = KernelShapes.MatVecKMultiple(format);
        if (matrix.Cols % multiple != 0)
        {
            throw new NotSupportedException(
                $"tensor {matrix.Name} has {matrix.Cols} columns; the CUDA kernels read {format} rows in multiples of {multiple}");
        }

        var bytes = new ReadOnlySpan<byte>((void*)matrix.Data, checked((int)matrix.ByteLength));
        if (format != WeightFormat.Q8_0)
        {
            var data = DeviceBuffer.Allocate((ulong)bytes.Length);
            data.CopyFrom(bytes);
            return new CudaMatrix(format, matrix.Rows, matrix.Cols, data, null);
        }

        var count = (long)matrix.Rows * matrix.Cols;
        var quants = new sbyte[count];
        var scales = new Half[count / Q8Layout.BlockValues];
        Q8Layout.Split(bytes, matrix.Rows, matrix.Cols, quants, scales);
        var quantBuffer = DeviceBuffer.Allocate<sbyte>(quants.Length);
        quantBuffer.CopyFrom<sbyte>(quants);
        var scaleBuffer = DeviceBuffer.Allocate<Half>(scales.Length);
        scaleBuffer.CopyFrom<Half>(scales);
        return new CudaMatrix(format, matrix.Rows, matrix.Cols, quantBuffer, scaleBuffer);
    }

    public void Dispose()
    {
        Data.Dispose();
        Scales?.Dispose();
    }
}
