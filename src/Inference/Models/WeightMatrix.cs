using Mesh.Inference.Models.Gguf;

namespace Mesh.Inference.Models;

/// <summary>
/// A row-major weight matrix [Rows, Cols] stored in one of the GGML types, in memory owned by the
/// model (usually the file mapping). Row r holds the weights of output feature r.
/// </summary>
public sealed unsafe class WeightMatrix(string name, GgmlType type, int rows, int cols, nint data)
{
    /// <summary>The tensor name in the file it came from (e.g. <c>blk.0.attn_q.weight</c>).</summary>
    public string Name { get; } = name;

    /// <summary>The storage type of the elements (F32, F16, BF16, or a GGML block quantization).</summary>
    public GgmlType Type { get; } = type;

    /// <summary>Output features (rows).</summary>
    public int Rows { get; } = rows;

    /// <summary>Input features (values per row); a multiple of the type's block size.</summary>
    public int Cols { get; } = cols;

    /// <summary>Address of row 0; rows follow each other <see cref="RowBytes"/> apart. Owned by the model.</summary>
    public nint Data { get; } = data;

    /// <summary>Bytes per row (computed once: every kernel's row addressing reads it).</summary>
    public long RowBytes { get; } = GgmlTypeInfo.ByteSize(type, cols);

    /// <summary>Bytes of the whole matrix.</summary>
    public long ByteLength => RowBytes * Rows;

    /// <summary>A pointer to the first byte of row <paramref name="row"/>.</summary>
    public byte* Row(int row) => (byte*)Data + (RowBytes * row);
}
