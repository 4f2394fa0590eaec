namespace Mesh.Inference.Models.Gguf;

/// <summary>
/// Tensor element types of GGML, by their numeric id in a GGUF file (ggml.h's <c>enum ggml_type</c>).
/// Every id GGML has assigned is named, so that an unsupported one is reported by name; ids 4, 5
/// (Q4_2, Q4_3), 31–33 and 36–38 (the removed repacked Q4_0/IQ4_NL layouts) are retired in GGML and
/// named here only for messages.
/// </summary>
public enum GgmlType : uint
{
    /// <summary>IEEE 754 single precision, 4 bytes per value.</summary>
    F32 = 0,

    /// <summary>IEEE 754 half precision, 2 bytes per value.</summary>
    F16 = 1,

    /// <summary>Blocks of 32: an f16 scale d and 32 4-bit quants (18 bytes); value = d × (q − 8).</summary>
    Q4_0 = 2,

    /// <summary>Blocks of 32: f16 scale d and minimum m, 32 4-bit quants (20 bytes); value = d × q + m.</summary>
    Q4_1 = 3,

    /// <summary>Retired from GGML (never in a current file); named for error messages only.</summary>
    Q4_2 = 4,

    /// <summary>Retired from GGML (never in a current file); named for error messages only.</summary>
    Q4_3 = 5,

    /// <summary>Blocks of 32: f16 d, 32 fifth bits, 32 nibbles (22 bytes); value = d × (q − 16).</summary>
    Q5_0 = 6,

    /// <summary>Blocks of 32: f16 d and m, 32 fifth bits, 32 nibbles (24 bytes); value = d × q + m.</summary>
    Q5_1 = 7,

    /// <summary>Blocks of 32: an f16 scale d and 32 int8 quants (34 bytes); value = d × q.</summary>
    Q8_0 = 8,

    /// <summary>Blocks of 32 int8 with an f16 scale and sum: GGML's activation format for Q4_1/Q5_1 dot products; not read.</summary>
    Q8_1 = 9,

    /// <summary>K-quant, super-blocks of 256: 2-bit quants, 4-bit scale and min per 16, f16 d and dmin (84 bytes).</summary>
    Q2_K = 10,

    /// <summary>K-quant, super-blocks of 256: 3-bit signed quants (high bits in a mask), 6-bit scales per 16, f16 d (110 bytes).</summary>
    Q3_K = 11,

    /// <summary>K-quant, super-blocks of 256: 4-bit quants, 6-bit scale and min per 32, f16 d and dmin (144 bytes).</summary>
    Q4_K = 12,

    /// <summary>K-quant, super-blocks of 256: 5-bit quants, 6-bit scale and min per 32, f16 d and dmin (176 bytes).</summary>
    Q5_K = 13,

    /// <summary>K-quant, super-blocks of 256: 6-bit signed quants, int8 scales per 16, f16 d (210 bytes).</summary>
    Q6_K = 14,

    /// <summary>Super-blocks of 256 int8 with an f32 scale and sums per 16: the activation format of K-quant dot products; not a weight type.</summary>
    Q8_K = 15,

    /// <summary>Importance-matrix quantization (2.06 bits per weight, lattice codebook); not supported.</summary>
    IQ2_XXS = 16,

    /// <summary>Importance-matrix quantization (2.31 bits per weight); not supported.</summary>
    IQ2_XS = 17,

    /// <summary>Importance-matrix quantization (3.06 bits per weight); not supported.</summary>
    IQ3_XXS = 18,

    /// <summary>Importance-matrix quantization (1.56 bits per weight); not supported.</summary>
    IQ1_S = 19,

    /// <summary>Non-linear 4-bit quantization (blocks of 32 through a fixed table); not supported.</summary>
    IQ4_NL = 20,

    /// <summary>Importance-matrix quantization (3.44 bits per weight); not supported.</summary>
    IQ3_S = 21,

    /// <summary>Importance-matrix quantization (2.5 bits per weight); not supported.</summary>
    IQ2_S = 22,

    /// <summary>Non-linear 4-bit quantization in super-blocks of 256 (4.25 bits per weight); not supported.</summary>
    IQ4_XS = 23,

    /// <summary>8-bit integers; not a weight type Mesh reads.</summary>
    I8 = 24,

    /// <summary>16-bit integers; not a weight type Mesh reads.</summary>
    I16 = 25,

    /// <summary>32-bit integers; not a weight type Mesh reads.</summary>
    I32 = 26,

    /// <summary>64-bit integers; not a weight type Mesh reads.</summary>
    I64 = 27,

    /// <summary>IEEE 754 double precision; not a weight type Mesh reads.</summary>
    F64 = 28,

    /// <summary>Importance-matrix quantization (1.75 bits per weight); not supported.</summary>
    IQ1_M = 29,

    /// <summary>bfloat16: the top 16 bits of an f32, 2 bytes per value.</summary>
    BF16 = 30,

    /// <summary>Retired repacked Q4_0 layout (ARM interleaving); named for error messages only.</summary>
    Q4_0_4_4 = 31,

    /// <summary>Retired repacked Q4_0 layout (ARM interleaving); named for error messages only.</summary>
    Q4_0_4_8 = 32,

    /// <summary>Retired repacked Q4_0 layout (ARM interleaving); named for error messages only.</summary>
    Q4_0_8_8 = 33,

    /// <summary>Ternary quantization (1.69 bits per weight, BitNet b1.58); not supported.</summary>
    TQ1_0 = 34,

    /// <summary>Ternary quantization (2.06 bits per weight, BitNet b1.58); not supported.</summary>
    TQ2_0 = 35,

    /// <summary>Retired repacked IQ4_NL layout; named for error messages only.</summary>
    IQ4_NL_4_4 = 36,

    /// <summary>Retired repacked IQ4_NL layout; named for error messages only.</summary>
    IQ4_NL_4_8 = 37,

    /// <summary>Retired repacked IQ4_NL layout; named for error messages only.</summary>
    IQ4_NL_8_8 = 38,

    /// <summary>OCP microscaling FP4: blocks of 32 E2M1 values with a shared E8M0 exponent (17 bytes); not supported.</summary>
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

    /// <summary>Whether the raw type id <paramref name="type"/> is one of <see cref="Supported"/> (an id read from a file, not yet trusted).</summary>
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
