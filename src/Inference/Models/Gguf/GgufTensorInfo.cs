namespace Mesh.Inference.Models.Gguf;

/// <summary>
/// One tensor of a GGUF file. <see cref="Dimensions"/> are in GGML order: the first is the innermost,
/// contiguous one, so a weight matrix [rows, cols] has Dimensions = [cols, rows].
/// </summary>
public sealed record GgufTensorInfo(string Name, long[] Dimensions, GgmlType Type, long Offset, long ByteLength)
{
    /// <summary>Elements in the tensor (the product of <see cref="Dimensions"/>).</summary>
    public long ElementCount => Dimensions.Aggregate(1L, (a, b) => a * b);
}
