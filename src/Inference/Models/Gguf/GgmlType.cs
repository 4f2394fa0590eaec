namespace Mesh.Inference.Models.Gguf;

/// <summary>
/// Tensor element types of GGML, by their numeric id in a GGUF file (ggml.h's <c>enum ggml_type</c>).
/// Every id GGML has assigned is named, so that an unsupported one is reported by name; ids 4, 5
/// (Q4_2, Q4_3), 31–33 and 36–38 (the removed repacked Q4_0/IQ4_NL layouts) are retired in GGML and
/// named here only for messages.
/// </summary>
public enum GgmlType : uint
{
    F32 = 0,
    F16 = 1,
    Q4_0 = 2,
    Q4_1 = 3,
    Q4_2 = 4,
    Q4_3 = 5,
    Q5_0 = 6,
    Q5_1 = 7,
    Q8_0 = 8,
    Q8_1 = 9,
    Q2_K = 10,
    Q3_K = 11,
    Q4_K = 12,
    Q5_K = 13,
    Q6_K = 14,
    Q8_K = 15,
    IQ2_XXS = 16,
    IQ2_XS = 17,
    IQ3_XXS = 18,
    IQ1_S = 19,
    IQ4_NL = 20,
    IQ3_S = 21,
    IQ2_S = 22,
    IQ4_XS = 23,
    I8 = 24,
    I16 = 25,
    I32 = 26,
    I64 = 27,
    F64 = 28,
    IQ1_M = 29,
    BF16 = 30,
    Q4_0_4_4 = 31,
    Q4_0_4_8 = 32,
    Q4_0_8_8 = 33,
    TQ1_0 = 34,
    TQ2_0 = 35,
    IQ4_NL_4_4 = 36,
    IQ4_NL_4_8 = 37,
    IQ4_NL_8_8 = 38,
    MXFP4 = 39,
}

/// <summary>
/// Storage geometry of the tensor types Mesh reads (block layouts of ggml-common.h): F32/F16/BF16 one
/// value per element; Q4_0, Q4_1, Q5_0, Q5_1, Q8_0 blocks of 32 values; the K-quants Q2_K–Q6_K
/// super-blocks of 256 values.
/// </summary>
public static class GgmlTypeInfo
{
    /// <summary>The types Mesh loads and multiplies, in the order the README lists them.</summary>
    public static IReadOnlyList<GgmlType> Supported { get; } =
    [
        GgmlType.F32, GgmlType.F16, GgmlType.BF16, GgmlType.Q8_0, GgmlType.Q4_0, GgmlType.Q4_1, GgmlType.Q5_0,
        GgmlType.Q5_1, GgmlType.Q2_K, GgmlType.Q3_K, GgmlType.Q4_K, GgmlType.Q5_K, GgmlType.Q6_K,
    ];

    /// <summary>Elements per block (1 for the float types, 32 for Q4_0…Q8_0, 256 for the K-quants).</summary>
    public static int BlockSize(GgmlType type) => type switch
    {
        GgmlType.F32 or GgmlType.F16 or GgmlType.BF16 => 1,
        GgmlType.Q4_0 or GgmlType.Q4_1 or GgmlType.Q5_0 or GgmlType.Q5_1 or GgmlType.Q8_0 => 32,
        GgmlType.Q2_K or GgmlType.Q3_K or GgmlType.Q4_K or GgmlType.Q5_K or GgmlType.Q6_K => 256,
        _ => throw Unsupported(type),
    };

    /// <summary>Bytes per block.</summary>
    public static int BlockBytes(GgmlType type) => type switch
    {
        GgmlType.F32 => 4,
        GgmlType.F16 or GgmlType.BF16 => 2,
        GgmlType.Q4_0 => 2 + 16,           // f16 d, 32 × 4-bit
        GgmlType.Q4_1 => 2 + 2 + 16,       // f16 d, f16 m, 32 × 4-bit
        GgmlType.Q5_0 => 2 + 4 + 16,       // f16 d, 32 high bits, 32 × 4-bit
        GgmlType.Q5_1 => 2 + 2 + 4 + 16,   // f16 d, f16 m, 32 high bits, 32 × 4-bit
        GgmlType.Q8_0 => 2 + 32,           // f16 d, 32 × int8
        GgmlType.Q2_K => 16 + 64 + 2 + 2,  // 16 × (4-bit scale, 4-bit min), 256 × 2-bit, f16 d, f16 dmin
        GgmlType.Q3_K => 32 + 64 + 12 + 2, // 256 high bits, 256 × 2-bit, 16 × 6-bit scales, f16 d
        GgmlType.Q4_K => 2 + 2 + 12 + 128, // f16 d, f16 dmin, 8 × (6-bit scale, 6-bit min), 256 × 4-bit
        GgmlType.Q5_K => 2 + 2 + 12 + 32 + 128,
        GgmlType.Q6_K => 128 + 64 + 16 + 2, // 256 × low 4 bits, 256 × high 2 bits, 16 × int8 scales, f16 d
        _ => throw Unsupported(type),
    };

    public static bool IsSupported(uint type) => Enum.IsDefined((GgmlType)type) && Supported.Contains((GgmlType)type);

    /// <summary>The type's GGML name ("Q4_K", "IQ2_XXS"), or "unknown type N" for an id GGML never assigned.</summary>
    public static string Name(uint type) => Enum.IsDefined((GgmlType)type) ? ((GgmlType)type).ToString() : $"unknown type {type}";

    /// <summary>Whether <paramref name="type"/> is one of the importance-matrix (IQ) types, which Mesh does not read.</summary>
    public static bool IsIQuant(uint type) => Name(type).StartsWith("IQ", StringComparison.Ordinal);

    /// <summary>Bytes that <paramref name="elements"/> elements occupy; elements must be whole blocks.</summary>
    public static long ByteSize(GgmlType type, long elements) => elements / BlockSize(type) * BlockBytes(type);

    private static ArgumentOutOfRangeException Unsupported(GgmlType type) =>
        new(nameof(type), type, $"tensor type {Name((uint)type)} is not supported");
}
