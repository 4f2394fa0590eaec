namespace Mesh.Inference.Models.Gguf;

/// <summary>Tensor element types of GGML, by their numeric id in a GGUF file (the subset Mesh reads).</summary>
public enum GgmlType : uint
{
    F32 = 0,
    F16 = 1,
    Q8_0 = 8,
    BF16 = 30,
}

/// <summary>Storage sizes of the supported tensor types.</summary>
public static class GgmlTypeInfo
{
    /// <summary>Elements per block: 32 for Q8_0 (one f16 scale and 32 int8 values), 1 otherwise.</summary>
    public static int BlockSize(GgmlType type) => type == GgmlType.Q8_0 ? 32 : 1;

    /// <summary>Bytes per block.</summary>
    public static int BlockBytes(GgmlType type) => type switch
    {
        GgmlType.F32 => 4,
        GgmlType.F16 or GgmlType.BF16 => 2,
        GgmlType.Q8_0 => 34,
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "unsupported tensor type"),
    };

    public static bool IsSupported(uint type) =>
        type is (uint)GgmlType.F32 or (uint)GgmlType.F16 or (uint)GgmlType.Q8_0 or (uint)GgmlType.BF16;

    /// <summary>Bytes that <paramref name="elements"/> elements occupy; elements must be whole blocks.</summary>
    public static long ByteSize(GgmlType type, long elements) => elements / BlockSize(type) * BlockBytes(type);
}
