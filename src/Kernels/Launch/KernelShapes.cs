namespace Mesh.Kernels.Launch;

/// <summary>
/// Launch geometry of every kernel, and the shape rules each kernel's PTX assumes (vector widths,
/// tile multiples, head size). A shape a kernel cannot handle is an <see cref="ArgumentException"/>
/// here, on the host, naming the rule; never an out-of-bounds access on the GPU.
/// </summary>
public static class KernelShapes
{
    /// <summary>Threads per block of the element-wise kernels.</summary>
    public const uint ElementWiseThreads = 256;

    /// <summary>Output features per matvec block (one warp each).</summary>
    public const uint MatVecRowsPerBlock = 8;

    /// <summary>Tile edge of the tensor-core matmul (M and N per block).</summary>
    public const uint MatMulTile = 128;

    /// <summary>K consumed per pipeline stage of the matmul.</summary>
    public const uint MatMulTileK = 32;

    /// <summary>Dynamic shared memory of the matmul: 3 stages × (A + B) × 128 rows × 64 bytes.</summary>
    public const uint MatMulSharedBytes = 3 * 2 * MatMulTile * MatMulTileK * 2;

    /// <summary>Largest head size the attention kernel holds (4 floats per lane of a warp).</summary>
    public const int MaxHeadDim = 128;

    /// <summary>Warps per attention block; each walks every 8th position.</summary>
    public const uint AttentionThreads = 256;

    /// <summary>Threads per sampling block (one block per logits row).</summary>
    public const uint SamplingThreads = 1024;

    /// <summary>Residual add / SwiGLU over <paramref name="count"/> floats: a grid-stride loop capped at 8 blocks per SM.</summary>
    public static LaunchGeometry ElementWise(long count, int multiprocessors)
    {
        Require(count > 0 && count % 4 == 0, $"element-wise kernels need a positive multiple of 4 elements (16-byte vectors); got {count}");
        var groups = count / 4;
        var blocks = Math.Min((groups + ElementWiseThreads - 1) / ElementWiseThreads, Math.Max(1, multiprocessors) * 8L);
        return LaunchGeometry.Linear((uint)blocks, ElementWiseThreads);
    }

    /// <summary>RMSNorm of <paramref name="rows"/> rows of <paramref name="dim"/> floats: one block per row.</summary>
    public static LaunchGeometry RmsNorm(int rows, int dim)
    {
        Require(rows > 0, $"RMSNorm needs at least one row; got {rows}");
        Require(dim > 0 && dim % 4 == 0, $"RMSNorm needs a dim that is a positive multiple of 4; got {dim}");
        return LaunchGeometry.Linear((uint)rows, 256);
    }

    /// <summary>RoPE over <paramref name="tokens"/> vectors of <paramref name="width"/> floats: one thread per pair.</summary>
    public static LaunchGeometry Rope(int tokens, int width, int headDim)
    {
        Require(tokens > 0, $"RoPE needs at least one token; got {tokens}");
        Require(headDim > 0 && headDim % 2 == 0, $"RoPE needs an even head_dim; got {headDim}");
        Require(width > 0 && width % headDim == 0, $"RoPE width {width} must be a multiple of head_dim {headDim}");
        const uint threads = 128;
        var pairs = (uint)(width / 2);
        return new LaunchGeometry((pairs + threads - 1) / threads, (uint)tokens, 1, threads, 1, 1);
    }

    /// <summary>Embedding gather of <paramref name="tokens"/> rows.</summary>
    public static LaunchGeometry Embedding(int tokens, int dim, bool q8)
    {
        Require(tokens > 0, $"embedding needs at least one token; got {tokens}");
        Require(!q8 || dim % 32 == 0, $"a Q8_0 embedding needs dim a multiple of 32; got {dim}");
        return LaunchGeometry.Linear((uint)tokens, 256);
    }

    /// <summary>KV-cache append of <paramref name="tokens"/> tokens of <paramref name="kvDim"/> floats each for K and V.</summary>
    public static LaunchGeometry KvAppend(int tokens, int kvDim)
    {
        Require(tokens > 0 && kvDim > 0, $"KV append needs tokens and kv_dim positive; got {tokens}, {kvDim}");
        const uint threads = 256;
        return new LaunchGeometry(((uint)kvDim + threads - 1) / threads, (uint)tokens, 1, threads, 1, 1);
    }

    /// <summary>Elements one lane reads per 16-byte load for a weight type, which K must be a multiple of.</summary>
    public static int MatVecKMultiple(WeightFormat format) => format switch
    {
        WeightFormat.F32 => 4,
        WeightFormat.F16 or WeightFormat.BF16 => 8,
        WeightFormat.Q8_0 => 32,
        _ => throw new ArgumentOutOfRangeException(nameof(format), format, "unknown weight format"),
    };

    /// <summary>Matrix-vector product with <paramref name="n"/> outputs of length-<paramref name="k"/> dot products.</summary>
    public static LaunchGeometry MatVec(int n, int k, WeightFormat format)
    {
        Require(n > 0, $"matvec needs at least one output row; got {n}");
        var multiple = MatVecKMultiple(format);
        Require(k > 0 && k % multiple == 0, $"matvec over {format} weights needs K a positive multiple of {multiple}; got {k}");
        return LaunchGeometry.Linear(((uint)n + MatVecRowsPerBlock - 1) / MatVecRowsPerBlock, MatVecRowsPerBlock * 32);
    }

    /// <summary>Quantized matvec over GGML blocks (<c>matvec_quant.ptx</c>): one warp per output, K a whole number of blocks.</summary>
    public static LaunchGeometry MatVecQuant(int n, int k, BlockQuantFormat format)
    {
        Require(n > 0, $"matvec needs at least one output row; got {n}");
        var multiple = BlockQuantFormats.BlockValues(format);
        Require(k > 0 && k % multiple == 0, $"matvec over {format} weights needs K a positive multiple of {multiple}; got {k}");
        return LaunchGeometry.Linear(((uint)n + MatVecRowsPerBlock - 1) / MatVecRowsPerBlock, MatVecRowsPerBlock * 32);
    }

    /// <summary>Tokens and weight rows per block tile of the quantized prefill GEMM (<c>matmul_quant.ptx</c>).</summary>
    public const uint MatMulQuantTile = 64;

    /// <summary>
    /// Quantized prefill GEMM C[M][N] = A[M][K]·W[N][K]ᵀ (<c>matmul_quant.ptx</c>, <c>matmul_kquant.ptx</c>):
    /// 256 threads per 64×64 tile, grid (⌈N/64⌉, ⌈M/64⌉); K a whole number of blocks (32 values for
    /// Q8_0/Q4_0, 256 for the K-quants).
    /// </summary>
    public static LaunchGeometry MatMulQuant(int m, int n, int k, BlockQuantFormat format)
    {
        var multiple = BlockQuantFormats.BlockValues(format);
        Require(m > 0 && n > 0, $"quantized matmul needs M and N positive; got {m}, {n}");
        Require(k > 0 && k % multiple == 0, $"quantized matmul over {format} weights needs K a positive multiple of {multiple}; got {k}");
        return new LaunchGeometry(
            ((uint)n + MatMulQuantTile - 1) / MatMulQuantTile, ((uint)m + MatMulQuantTile - 1) / MatMulQuantTile, 1,
            256, 1, 1, 0);
    }

    /// <summary>Activation quantization to int8 per 32 values (<c>quantize_q8_f32</c>): one warp per block, 8 per thread block.</summary>
    public static LaunchGeometry QuantizeQ8(int rows, int k)
    {
        Require(rows > 0, $"activation quantization needs at least one row; got {rows}");
        Require(k > 0 && k % 32 == 0, $"activation quantization needs K a positive multiple of 32; got {k}");
        var blocks = (long)rows * k / 32;
        return LaunchGeometry.Linear((uint)((blocks + 7) / 8), 256);
    }

    /// <summary>
    /// Int8 tensor-core GEMM over Q8_0 weights and int8 activations (<c>matmul_q8_0_s8</c>): 4 warps
    /// per 64×64 tile, grid (⌈N/64⌉, ⌈M/64⌉); K a positive multiple of 32.
    /// </summary>
    public static LaunchGeometry MatMulInt8(int m, int n, int k)
    {
        Require(m > 0 && n > 0, $"int8 matmul needs M and N positive; got {m}, {n}");
        Require(k > 0 && k % 32 == 0, $"int8 matmul needs K a positive multiple of 32; got {k}");
        return new LaunchGeometry(
            ((uint)n + MatMulQuantTile - 1) / MatMulQuantTile, ((uint)m + MatMulQuantTile - 1) / MatMulQuantTile, 1,
            128, 1, 1, 0);
    }

    /// <summary>Tensor-core matmul C[M][N] = A[M][K]·B[N][K]ᵀ.</summary>
    public static LaunchGeometry MatMul(int m, int n, int k)
    {
        Require(m > 0 && n > 0, $"matmul needs M and N positive; got {m}, {n}");
        Require(k > 0 && k % MatMulTileK == 0, $"matmul needs K a positive multiple of {MatMulTileK}; got {k}");
        Require(n % 8 == 0, $"matmul needs N a multiple of 8 (paired column stores); got {n}");
        return new LaunchGeometry(((uint)n + MatMulTile - 1) / MatMulTile, ((uint)m + MatMulTile - 1) / MatMulTile, 1, 256, 1, 1, MatMulSharedBytes);
    }

    /// <summary>K per stage of the Hopper (wgmma + TMA) matmul: one 128-byte swizzle row of bf16.</summary>
    public const uint WgmmaTileK = 64;

    /// <summary>Dynamic shared memory of the Hopper matmul: 4 stages × 32 KiB plus 1 KiB to align the first to 1024 bytes.</summary>
    public const uint WgmmaSharedBytes = (4 * 32 * 1024) + 1024;

    /// <summary>Hopper matmul C[M][N] = A[M][K]·B[N][K]ᵀ (bf16, wgmma m64n128k16, TMA tiles).</summary>
    public static LaunchGeometry MatMulWgmma(int m, int n, int k)
    {
        Require(m > 0 && n > 0, $"matmul needs M and N positive; got {m}, {n}");
        Require(k > 0 && k % WgmmaTileK == 0, $"the Hopper matmul needs K a positive multiple of {WgmmaTileK}; got {k}");
        Require(n % 8 == 0, $"matmul needs N a multiple of 8 (paired column stores); got {n}");
        return new LaunchGeometry(((uint)n + MatMulTile - 1) / MatMulTile, ((uint)m + MatMulTile - 1) / MatMulTile, 1, 256, 1, 1, WgmmaSharedBytes);
    }

    /// <summary>Paged attention for <paramref name="tokens"/> query tokens of <paramref name="heads"/> heads.</summary>
    public static LaunchGeometry Attention(int tokens, int heads, int kvHeads, int headDim)
    {
        Require(tokens > 0, $"attention needs at least one token; got {tokens}");
        Require(heads > 0 && kvHeads > 0 && heads % kvHeads == 0, $"attention needs kv_heads ({kvHeads}) to divide heads ({heads})");
        Require(headDim > 0 && headDim <= MaxHeadDim && headDim % 4 == 0, $"attention needs head_dim a multiple of 4 up to {MaxHeadDim}; got {headDim}");
        return new LaunchGeometry((uint)heads, (uint)tokens, 1, AttentionThreads, 1, 1);
    }

    /// <summary>
    /// Flash-decoding: the split pass over <paramref name="splits"/> context chunks of
    /// <paramref name="splitLength"/> positions (grid heads × tokens × splits) and the combine pass
    /// (grid heads × tokens, one thread per output dim).
    /// </summary>
    public static (LaunchGeometry Split, LaunchGeometry Combine) AttentionFlashDecode(int tokens, int heads, int kvHeads, int headDim, int splitLength, int splits)
    {
        var plain = Attention(tokens, heads, kvHeads, headDim);
        Require(splitLength > 0 && splits > 0 && splits <= 65535, $"flash-decoding needs a positive split length and 1..65535 splits; got {splitLength}, {splits}");
        return (plain with { GridZ = (uint)splits }, new LaunchGeometry((uint)heads, (uint)tokens, 1, (uint)MaxHeadDim, 1, 1));
    }

    /// <summary>Splits of <paramref name="splitLength"/> positions that cover <paramref name="longestContext"/> positions.</summary>
    public static int FlashDecodeSplits(int longestContext, int splitLength) => (longestContext + splitLength - 1) / splitLength;

    /// <summary>Head size the FlashAttention-style prefill kernel is written for.</summary>
    public const int PrefillHeadDim = 64;

    /// <summary>Causal prefill attention over <paramref name="tokens"/> contiguous tokens: one block per 64 queries and head.</summary>
    public static LaunchGeometry AttentionPrefill(int tokens, int heads, int kvHeads, int headDim)
    {
        Require(tokens > 0, $"prefill attention needs at least one token; got {tokens}");
        Require(heads > 0 && kvHeads > 0 && heads % kvHeads == 0, $"prefill attention needs kv_heads ({kvHeads}) to divide heads ({heads})");
        Require(headDim == PrefillHeadDim, $"the prefill attention kernel is written for head_dim {PrefillHeadDim}; got {headDim}");
        return new LaunchGeometry(((uint)tokens + 63) / 64, (uint)heads, 1, 128, 1, 1);
    }

    /// <summary>Threads per row of logits_process_f32.</summary>
    public const uint LogitsProcessThreads = 256;

    /// <summary>Mask and penalties over <paramref name="rows"/> logits rows: one block per row.</summary>
    public static LaunchGeometry LogitsProcess(int rows, int vocab)
    {
        Require(rows > 0 && vocab > 0, $"logits processing needs rows and vocab positive; got {rows}, {vocab}");
        return LaunchGeometry.Linear((uint)rows, LogitsProcessThreads);
    }

    /// <summary>Sampling of <paramref name="rows"/> logits rows.</summary>
    public static LaunchGeometry Sampling(int rows, int vocab)
    {
        Require(rows > 0 && vocab > 0, $"sampling needs rows and vocab positive; got {rows}, {vocab}");
        return LaunchGeometry.Linear((uint)rows, SamplingThreads);
    }

    private static void Require(bool condition, string message)
    {
        if (!condition)
        {
            throw new ArgumentException(message);
        }
    }
}
