using Mesh.Inference.Models.Gguf;

namespace Mesh.Inference.Models;

/// <summary>
/// A row-major weight matrix [Rows, Cols] stored in one of the GGML types, in memory owned by the
/// model (usually the file mapping). Row r holds the weights of output feature r.
/// </summary>
public sealed unsafe class WeightMatrix(string name, GgmlType type, int rows, int cols, nint data)
{
    public string Name { get; } = name;

    public GgmlType Type { get; } = type;

    public int Rows { get; } = rows;

    public int Cols { get; } = cols;

    public nint Data { get; } = data;

    /// <summary>Bytes per row.</summary>
    public long RowBytes => GgmlTypeInfo.ByteSize(Type, Cols);

    public long ByteLength => RowBytes * Rows;

    /// <summary>A pointer to the first byte of row <paramref name="row"/>.</summary>
    public byte* Row(int row) => (byte*)Data + (RowBytes * row);
}
