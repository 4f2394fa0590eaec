namespace Mesh.Kernels.Launch;

/// <summary>
/// GGML block-quantized weight types the quantized matvec kernels (<c>matvec_quant.ptx</c>) read in
/// the model file's own block layout (ggml-common.h), without re-layout on upload.
/// </summary>
public enum BlockQuantFormat
{
    /// <summary>block_q8_0: f16 d, 32 int8 quants (34 bytes per 32 values); value = d·q.</summary>
    Q8_0,
    /// <summary>block_q4_0: f16 d, 16 bytes of nibbles (value j low nibble of byte j, value j+16 high); value = d·(q − 8) (18 bytes per 32 values).</summary>
    Q4_0,
    /// <summary>block_q4_K: f16 d, f16 dmin, 12 bytes of packed 6-bit scales and mins, 128 bytes of nibbles (144 bytes per 256 values); value = d·sc·q − dmin·m.</summary>
    Q4_K,
    /// <summary>block_q6_K: 128 bytes of low nibbles, 64 bytes of high 2-bit pairs, 16 int8 scales, f16 d (210 bytes per 256 values); value = d·sc·(q − 32).</summary>
    Q6_K,
    /// <summary>block_q5_K: f16 d, f16 dmin, 12 bytes of packed 6-bit scales and mins, 32 bytes of high bits qh, 128 bytes of nibbles (176 bytes per 256 values); value = d·sc·q − dmin·m with q = nibble | 16·(bit of qh).</summary>
    Q5_K,
}

/// <summary>Block sizes of <see cref="BlockQuantFormat"/> types.</summary>
public static class BlockQuantFormats
{
    /// <summary>Values per block: 32 for Q8_0/Q4_0, 256 for the K-quants (their super-block).</summary>
    public static int BlockValues(BlockQuantFormat format) => format switch
    {
        BlockQuantFormat.Q8_0 or BlockQuantFormat.Q4_0 => 32,
        BlockQuantFormat.Q4_K or BlockQuantFormat.Q5_K or BlockQuantFormat.Q6_K => 256,
        _ => throw new ArgumentOutOfRangeException(nameof(format), format, "unknown block-quantized format"),
    };

    /// <summary>Bytes per block as ggml stores it.</summary>
    public static int BlockBytes(BlockQuantFormat format) => format switch
    {
        BlockQuantFormat.Q8_0 => 34,
        BlockQuantFormat.Q4_0 => 18,
        BlockQuantFormat.Q4_K => 144,
        BlockQuantFormat.Q6_K => 210,
        BlockQuantFormat.Q5_K => 176,
        _ => throw new ArgumentOutOfRangeException(nameof(format), format, "unknown block-quantized format"),
    };

    /// <summary>Bytes of one weight row of <paramref name="cols"/> values (a whole number of blocks).</summary>
    public static long RowBytes(BlockQuantFormat format, int cols) => (long)cols / BlockValues(format) * BlockBytes(format);

    /// <summary>The prefill GEMM entry: <c>matmul_quant.ptx</c> (Q8_0, Q4_0) or <c>matmul_kquant.ptx</c> (Q4_K, Q5_K, Q6_K).</summary>
    public static string MatMulEntry(BlockQuantFormat format) => format switch
    {
        BlockQuantFormat.Q8_0 => "matmul_block_q8_0",
        BlockQuantFormat.Q4_0 => "matmul_block_q4_0",
        BlockQuantFormat.Q4_K => "matmul_q4_k",
        BlockQuantFormat.Q5_K => "matmul_q5_k",
        BlockQuantFormat.Q6_K => "matmul_q6_k",
        _ => throw new ArgumentOutOfRangeException(nameof(format), format, "unknown block-quantized format"),
    };

    /// <summary>The kernel entry in <c>matvec_quant.ptx</c>.</summary>
    public static string MatVecEntry(BlockQuantFormat format) => format switch
    {
        BlockQuantFormat.Q8_0 => "matvec_block_q8_0",
        BlockQuantFormat.Q4_0 => "matvec_block_q4_0",
        BlockQuantFormat.Q4_K => "matvec_q4_k",
        BlockQuantFormat.Q6_K => "matvec_q6_k",
        BlockQuantFormat.Q5_K => "matvec_q5_k",
        _ => throw new ArgumentOutOfRangeException(nameof(format), format, "unknown block-quantized format"),
    };
}
