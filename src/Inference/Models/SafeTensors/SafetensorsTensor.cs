namespace Mesh.Inference.Models.SafeTensors;

/// <summary>
/// One entry of a safetensors header: its dtype name as the format spells it ("F32", "BF16", …),
/// its shape (outermost dimension first, as PyTorch), and its byte range [Begin, End) within the data
/// section that follows the header.
/// </summary>
public sealed record SafetensorsTensor(string Name, string DType, long[] Shape, long Begin, long End)
{
    /// <summary>Number of elements: the product of the shape (1 for a scalar).</summary>
    public long ElementCount => Shape.Aggregate(1L, (a, b) => a * b);

    /// <summary>Bytes of data.</summary>
    public long ByteLength => End - Begin;
}
