using Mesh.Kernels.Driver;
using Mesh.Kernels.Launch;

namespace Mesh.Kernels;

/// <summary>
/// Every embedded PTX module loaded into one context, with one typed method per kernel that checks
/// the shape (<see cref="KernelShapes"/>), builds the argument list and launches on a stream. The
/// CUDA backend and the GPU check call kernels only through here, so the argument order written in
/// each .ptx file is encoded once.
/// </summary>
public sealed class CudaKernels : IDisposable
{
    /// <summary>(module, entry) of every kernel launched from here; a test checks each exists in the PTX.</summary>
    public static readonly IReadOnlyList<(string Module, string Entry)> EntryPoints =
    [
        ("elementwise", "residual_add_f32"), ("elementwise", "swiglu_f32"),
        ("elementwise", "convert_f32_bf16"), ("elementwise", "convert_f32_f16"),
        ("rmsnorm", "rmsnorm_f32"), ("rope", "rope_f32"),
        ("embedding", "embedding_f32"), ("embedding", "embedding_f16"), ("embedding", "embedding_bf16"), ("embedding", "embedding_q8_0"),
        ("kv_cache", "kv_append_f32"),
        ("matvec", "matvec_f32"), ("matvec", "matvec_f16"), ("matvec", "matvec_bf16"), ("matvec", "matvec_q8_0"),
        ("matvec_quant", "matvec_block_q8_0"), ("matvec_quant", "matvec_block_q4_0"), ("matvec_quant", "matvec_q4_k"), ("matvec_quant", "matvec_q6_k"), ("matvec_quant", "matvec_q5_k"),
        ("matmul_quant", "matmul_block_q8_0"), ("matmul_quant", "matmul_block_q4_0"),
        ("matmul_int8", "quantize_q8_f32"), ("matmul_int8", "matmul_q8_0_s8"), ("matmul_int8", "matmul_q4_0_s8"),
        ("matmul_kquant", "matmul_q4_k"), ("matmul_kquant", "matmul_q5_k"), ("matmul_kquant", "matmul_q6_k"),
        ("matmul_mma", "matmul_bf16"), ("matmul_mma", "matmul_f16"), ("matmul_wgmma", "matmul_wgmma_bf16"),
        ("attention_decode", "attention_decode_f32"),
        ("attention_flash_decode", "attention_decode_split_f32"), ("attention_flash_decode", "attention_decode_combine_f32"), ("attention_prefill", "attention_prefill_bf16"),
        ("sampling", "sample_f32"), ("logits_process", "logits_process_f32"),
    ];

    private readonly List<CudaModule> _modules = [];
    private readonly Dictionary<string, CudaFunction> _functions = [];
    private readonly KernelArguments _args = new(16);
    private readonly int _multiprocessors;
    private readonly Dictionary<(ulong A, ulong B, int M, int N, int K), DeviceBuffer> _tensorMaps = [];

    /// <summary>Modules whose targets are architecture-specific (sm_90a): loaded only on compute capability 9.0.</summary>
    private static readonly HashSet<string> HopperOnly = ["matmul_wgmma"];

    /// <summary>Loads (JIT-compiles) every module for the context's device; JIT errors surface as <see cref="CudaException"/>.</summary>
    public CudaKernels(CudaContext context)
    {
        Context = context;
        _multiprocessors = context.Device.MultiprocessorCount;
        var needed = EntryPoints.Select(e => e.Module).ToHashSet();
        HasHopperKernels = context.Device.ComputeCapability == new Version(9, 0);
        if (!HasHopperKernels)
        {
            needed.ExceptWith(HopperOnly);
        }
        foreach (var module in PtxModules.All.Where(m => needed.Contains(m.Name)))
        {
            var loaded = CudaModule.LoadPtx(module.Text);
            _modules.Add(loaded);
            foreach (var entry in module.Entries)
            {
                _functions[entry] = loaded.GetFunction(entry);
            }
        }
    }

    /// <summary>The context the kernel modules are loaded into; launches must run with it current.</summary>
    public CudaContext Context { get; }

    /// <summary>True on sm_90 devices, where the wgmma + TMA matmul (an sm_90a module) is loaded.</summary>
    public bool HasHopperKernels { get; }

    /// <summary>The loaded function for an entry name (for timing and attribute queries).</summary>
    public CudaFunction this[string entry] => _functions[entry];

    /// <summary>y[i] += x[i] for <paramref name="count"/> f32 values (the transformer's residual connection).</summary>
    public void ResidualAdd(DeviceBuffer y, DeviceBuffer x, long count, CudaStream? stream) =>
        Launch("residual_add_f32", KernelShapes.ElementWise(count, _multiprocessors), stream, a => a.Add(y).Add(x).Add((uint)count));

    /// <summary>output[i] = silu(gate[i]) · up[i] for <paramref name="count"/> f32 values (silu(g) = g / (1 + e^−g); LLaMA's SwiGLU feed-forward, Shazeer 2020).</summary>
    public void SwiGlu(DeviceBuffer output, DeviceBuffer gate, DeviceBuffer up, long count, CudaStream? stream) =>
        Launch("swiglu_f32", KernelShapes.ElementWise(count, _multiprocessors), stream, a => a.Add(output).Add(gate).Add(up).Add((uint)count));

    /// <summary>Rounds <paramref name="count"/> floats to bf16 or f16 (nearest even): the matmul's A operand.</summary>
    public void Convert(DeviceBuffer output, WeightFormat format, DeviceBuffer x, long count, CudaStream? stream)
    {
        if (format is not (WeightFormat.BF16 or WeightFormat.F16))
        {
            throw new ArgumentException($"conversion targets bf16 or f16, not {format}", nameof(format));
        }
        Launch(format == WeightFormat.BF16 ? "convert_f32_bf16" : "convert_f32_f16", KernelShapes.ElementWise(count, _multiprocessors), stream,
            a => a.Add(output).Add(x).Add((uint)count));
    }

    /// <summary>Normalises <paramref name="rows"/> rows; <paramref name="rowIndex"/> (int32 per output row) selects input rows when given.</summary>
    public void RmsNorm(DeviceBuffer output, DeviceBuffer x, DeviceBuffer weight, DeviceBuffer? rowIndex, int rows, int dim, float epsilon, CudaStream? stream) =>
        Launch("rmsnorm_f32", KernelShapes.RmsNorm(rows, dim), stream,
            a => a.Add(output).Add(x).Add(weight).Add(rowIndex?.Pointer ?? 0UL).Add((uint)dim).Add(epsilon));

    /// <summary>Rotates <paramref name="tokens"/> rows of <paramref name="width"/> f32 values in place, each head of <paramref name="headDim"/> by its token's position (int32 per row in <paramref name="positions"/>), with cos/sin tables [position][headDim/2] f32 (RoPE, Su et al. 2021).</summary>
    public void Rope(DeviceBuffer vectors, DeviceBuffer positions, DeviceBuffer cos, DeviceBuffer sin, int tokens, int width, int headDim, CudaStream? stream) =>
        Launch("rope_f32", KernelShapes.Rope(tokens, width, headDim), stream,
            a => a.Add(vectors).Add(positions).Add(cos).Add(sin).Add((uint)width).Add((uint)headDim));

    /// <summary>Gathers embedding rows; for Q8_0, <paramref name="scales"/> is the split-layout scale array.</summary>
    public void Embedding(DeviceBuffer output, WeightFormat format, DeviceBuffer table, DeviceBuffer? scales, DeviceBuffer tokens, int count, int dim, CudaStream? stream)
    {
        var geometry = KernelShapes.Embedding(count, dim, format == WeightFormat.Q8_0);
        if (format == WeightFormat.Q8_0)
        {
            Launch("embedding_q8_0", geometry, stream, a => a.Add(output).Add(table).Add(RequireScales(scales)).Add(tokens).Add((uint)dim));
            return;
        }
        var entry = format switch { WeightFormat.F32 => "embedding_f32", WeightFormat.F16 => "embedding_f16", _ => "embedding_bf16" };
        Launch(entry, geometry, stream, a => a.Add(output).Add(table).Add(tokens).Add((uint)dim));
    }

    /// <summary>Writes <paramref name="tokens"/> rows of keys and values (f32 [token][kvHeads·headDim]) into the paged pools at the slots given per token (int32 slot = block·blockSize + offset; layout in <see cref="Layout.BlockTableLayout"/>).</summary>
    public void KvAppend(DeviceBuffer keyPool, DeviceBuffer valuePool, DeviceBuffer keys, DeviceBuffer values, DeviceBuffer slots, int tokens, int kvHeads, int headDim, int blockSize, CudaStream? stream) =>
        Launch("kv_append_f32", KernelShapes.KvAppend(tokens, kvHeads * headDim), stream,
            a => a.Add(keyPool).Add(valuePool).Add(keys).Add(values).Add(slots).Add((uint)kvHeads).Add((uint)headDim).Add((uint)blockSize));

    /// <summary>y[r][n] = W[n]·x[r] for <paramref name="rows"/> rows of x (decode).</summary>
    public void MatVec(DeviceBuffer y, WeightFormat format, DeviceBuffer weights, DeviceBuffer? scales, DeviceBuffer x, int rows, int n, int k, CudaStream? stream)
    {
        var geometry = KernelShapes.MatVec(n, k, format);
        if (format == WeightFormat.Q8_0)
        {
            Launch("matvec_q8_0", geometry, stream, a => a.Add(y).Add(weights).Add(RequireScales(scales)).Add(x).Add((uint)n).Add((uint)k).Add((uint)rows));
            return;
        }
        var entry = format switch { WeightFormat.F32 => "matvec_f32", WeightFormat.F16 => "matvec_f16", _ => "matvec_bf16" };
        Launch(entry, geometry, stream, a => a.Add(y).Add(weights).Add(x).Add((uint)n).Add((uint)k).Add((uint)rows));
    }

    /// <summary>
    /// y[r][n] = W[n]·x[r] for <paramref name="rows"/> rows of x, W in GGML's own block layout
    /// (<paramref name="weights"/> holds n rows of <see cref="BlockQuantFormats.RowBytes"/> bytes).
    /// </summary>
    public void MatVecQuant(DeviceBuffer y, BlockQuantFormat format, DeviceBuffer weights, DeviceBuffer x, int rows, int n, int k, CudaStream? stream) =>
        Launch(BlockQuantFormats.MatVecEntry(format), KernelShapes.MatVecQuant(n, k, format), stream,
            a => a.Add(y).Add(weights).Add(x).Add((uint)n).Add((uint)k).Add((uint)rows));

    /// <summary>
    /// C[M][N] (f32) = A[M][K] (f32)·W[N][K]ᵀ with W in ggml's Q8_0, Q4_0, Q4_K, Q5_K or Q6_K block
    /// layout as stored (<see cref="BlockQuantFormats.RowBytes"/> bytes per row): the prefill GEMM of
    /// <c>matmul_quant.ptx</c> / <c>matmul_kquant.ptx</c>.
    /// </summary>
    /// <exception cref="ArgumentException">K not a whole number of the format's blocks.</exception>
    public void MatMulQuant(DeviceBuffer c, BlockQuantFormat format, DeviceBuffer weights, DeviceBuffer a, int m, int n, int k, CudaStream? stream) =>
        Launch(BlockQuantFormats.MatMulEntry(format), KernelShapes.MatMulQuant(m, n, k, format), stream,
            p => p.Add(c).Add(weights).Add(a).Add((uint)m).Add((uint)n).Add((uint)k));

    /// <summary>
    /// Quantizes <paramref name="rows"/>×<paramref name="k"/> f32 activations to int8 per 32 values
    /// (<paramref name="quants"/> [rows][k] sbyte, <paramref name="scales"/> [rows][k/32] f32 holding
    /// f16-rounded scales), the CPU backend's Q8_0 activation rule.
    /// </summary>
    public void QuantizeQ8(DeviceBuffer quants, DeviceBuffer scales, DeviceBuffer x, int rows, int k, CudaStream? stream) =>
        Launch("quantize_q8_f32", KernelShapes.QuantizeQ8(rows, k), stream,
            p => p.Add(quants).Add(scales).Add(x).Add((uint)((long)rows * k / 32)));

    /// <summary>
    /// C[M][N] (f32) = Σ_blocks d_w·d_a·(q_w · q_a) on int8 tensor cores (<c>matmul_q8_0_s8</c>):
    /// weights in <see cref="Layout.Q8Layout"/>'s split form (quants [N][K], f16 scales [N][K/32]),
    /// activations from <see cref="QuantizeQ8"/>.
    /// </summary>
    public void MatMulInt8(DeviceBuffer c, DeviceBuffer weightQuants, DeviceBuffer weightScales, DeviceBuffer quants, DeviceBuffer scales, int m, int n, int k, CudaStream? stream) =>
        Launch("matmul_q8_0_s8", KernelShapes.MatMulInt8(m, n, k), stream,
            p => p.Add(c).Add(weightQuants).Add(weightScales).Add(quants).Add(scales).Add((uint)m).Add((uint)n).Add((uint)k));

    /// <summary>
    /// <see cref="MatMulInt8"/> over Q4_0 weights as the file stores them (18-byte blocks, nibbles
    /// turned into int8 q − 8 in registers): <c>matmul_q4_0_s8</c>.
    /// </summary>
    public void MatMulInt8Q4(DeviceBuffer c, DeviceBuffer weights, DeviceBuffer quants, DeviceBuffer scales, int m, int n, int k, CudaStream? stream) =>
        Launch("matmul_q4_0_s8", KernelShapes.MatMulInt8(m, n, k), stream,
            p => p.Add(c).Add(weights).Add(quants).Add(scales).Add((uint)m).Add((uint)n).Add((uint)k));

    /// <summary>C[M][N] (f32) = A[M][K]·B[N][K]ᵀ on tensor cores; A and B both bf16 or both f16.</summary>
    public void MatMul(DeviceBuffer c, WeightFormat format, DeviceBuffer a, DeviceBuffer b, int m, int n, int k, CudaStream? stream)
    {
        if (format is not (WeightFormat.BF16 or WeightFormat.F16))
        {
            throw new ArgumentException($"the tensor-core matmul takes bf16 or f16 operands, not {format}", nameof(format));
        }
        Launch(format == WeightFormat.BF16 ? "matmul_bf16" : "matmul_f16", KernelShapes.MatMul(m, n, k), stream,
            args => args.Add(c).Add(a).Add(b).Add((uint)m).Add((uint)n).Add((uint)k));
    }

    /// <summary>
    /// C[M][N] (f32) = A[M][K]·B[N][K]ᵀ with bf16 operands on Hopper (wgmma + TMA). The tensor maps of
    /// each (A, B, shape) are encoded once and kept in device memory while this object lives.
    /// </summary>
    public void MatMulHopper(DeviceBuffer c, DeviceBuffer a, DeviceBuffer b, int m, int n, int k, CudaStream? stream)
    {
        if (!HasHopperKernels)
        {
            throw new InvalidOperationException("the wgmma + TMA matmul needs a compute capability 9.0 (Hopper) device");
        }
        var geometry = KernelShapes.MatMulWgmma(m, n, k);
        var key = (a.Pointer, b.Pointer, m, n, k);
        if (!_tensorMaps.TryGetValue(key, out var maps))
        {
            var bytes = TensorMap.EncodeBFloat16(a.Pointer, (ulong)m, (ulong)k, KernelShapes.MatMulTile, KernelShapes.WgmmaTileK)
                .Concat(TensorMap.EncodeBFloat16(b.Pointer, (ulong)n, (ulong)k, KernelShapes.MatMulTile, KernelShapes.WgmmaTileK)).ToArray();
            maps = DeviceBuffer.Allocate((ulong)bytes.Length);
            maps.CopyFrom<byte>(bytes);
            _tensorMaps[key] = maps;
        }
        Launch("matmul_wgmma_bf16", geometry, stream,
            args => args.Add(c).Add(maps.Pointer).Add(maps.Pointer + TensorMap.Bytes).Add((uint)m).Add((uint)n).Add((uint)k));
    }

    /// <summary>Decode attention over the paged KV cache (PagedAttention, Kwon et al. 2023): for each query row, softmax(q·Kᵀ·<paramref name="scale"/>)·V over its sequence's positions 0..position, keys read through <paramref name="blockTables"/> (int32 [sequence][<paramref name="maxBlocks"/>]); q and output f32 [tokens][heads][headDim], grouped-query heads sharing kv heads.</summary>
    public void Attention(
        DeviceBuffer output, DeviceBuffer q, DeviceBuffer keyPool, DeviceBuffer valuePool, DeviceBuffer blockTables, DeviceBuffer tokenSequence,
        DeviceBuffer tokenPosition, int tokens, int heads, int kvHeads, int headDim, int maxBlocks, int blockSize, float scale, CudaStream? stream) =>
        Launch("attention_decode_f32", KernelShapes.Attention(tokens, heads, kvHeads, headDim), stream,
            a => a.Add(output).Add(q).Add(keyPool).Add(valuePool).Add(blockTables).Add(tokenSequence).Add(tokenPosition)
                .Add((uint)heads).Add((uint)kvHeads).Add((uint)headDim).Add((uint)maxBlocks).Add((uint)blockSize).Add(scale));

    /// <summary>
    /// Flash-decoding over the paged KV cache: what <see cref="Attention"/> computes, with the context
    /// split into <paramref name="splits"/> chunks of <paramref name="splitLength"/> positions run as
    /// separate blocks, then combined. <paramref name="partialOutput"/> holds
    /// tokens·heads·splits·head_dim floats, <paramref name="partialMaxSum"/> tokens·heads·splits·2.
    /// </summary>
    public void AttentionFlashDecode(
        DeviceBuffer output, DeviceBuffer partialOutput, DeviceBuffer partialMaxSum, DeviceBuffer q, DeviceBuffer keyPool, DeviceBuffer valuePool,
        DeviceBuffer blockTables, DeviceBuffer tokenSequence, DeviceBuffer tokenPosition, int tokens, int heads, int kvHeads, int headDim,
        int maxBlocks, int blockSize, float scale, int splitLength, int splits, CudaStream? stream)
    {
        var (split, combine) = KernelShapes.AttentionFlashDecode(tokens, heads, kvHeads, headDim, splitLength, splits);
        Launch("attention_decode_split_f32", split, stream,
            a => a.Add(partialOutput).Add(partialMaxSum).Add(q).Add(keyPool).Add(valuePool).Add(blockTables).Add(tokenSequence).Add(tokenPosition)
                .Add((uint)heads).Add((uint)kvHeads).Add((uint)headDim).Add((uint)maxBlocks).Add((uint)blockSize).Add(scale).Add((uint)splitLength));
        Launch("attention_decode_combine_f32", combine, stream,
            a => a.Add(output).Add(partialOutput).Add(partialMaxSum).Add((uint)heads).Add((uint)headDim).Add((uint)splits));
    }

    /// <summary>
    /// Causal attention of one sequence chunk that starts at position 0 (tensor cores, online softmax):
    /// q bf16 [tokens][heads][64], k and v bf16 [tokens][kv_heads][64], out f32 [tokens][heads][64].
    /// </summary>
    public void AttentionPrefill(DeviceBuffer output, DeviceBuffer q, DeviceBuffer k, DeviceBuffer v, int tokens, int heads, int kvHeads, int headDim, float scale, CudaStream? stream) =>
        Launch("attention_prefill_bf16", KernelShapes.AttentionPrefill(tokens, heads, kvHeads, headDim), stream,
            a => a.Add(output).Add(q).Add(k).Add(v).Add((uint)tokens).Add((uint)heads).Add((uint)kvHeads).Add(scale));

    /// <summary>
    /// In place on <paramref name="rows"/> logits rows: the structured-output masks (u32 words
    /// [rows][ceil(vocab/32)], bit set = allowed), then the penalties of each row's (token, count)
    /// pairs at [offsets[r], offsets[r+1]) (int32) with its <see cref="Sampling.LogitPenalties"/>.
    /// </summary>
    public void ProcessLogits(DeviceBuffer logits, DeviceBuffer masks, DeviceBuffer offsets, DeviceBuffer tokens, DeviceBuffer counts, DeviceBuffer penalties, int rows, int vocab, CudaStream? stream) =>
        Launch("logits_process_f32", KernelShapes.LogitsProcess(rows, vocab), stream,
            a => a.Add(logits).Add(masks).Add(offsets).Add(tokens).Add(counts).Add(penalties).Add((uint)vocab));

    /// <summary>One token per logits row into <paramref name="tokens"/> (int32), with per-row <see cref="Sampling.SamplingRow"/> parameters.</summary>
    public void Sample(DeviceBuffer tokens, DeviceBuffer logits, DeviceBuffer rowParameters, int rows, int vocab, CudaStream? stream) =>
        Launch("sample_f32", KernelShapes.Sampling(rows, vocab), stream, a => a.Add(tokens).Add(logits).Add(rowParameters).Add((uint)vocab));

    private static DeviceBuffer RequireScales(DeviceBuffer? scales) =>
        scales ?? throw new ArgumentNullException(nameof(scales), "Q8_0 weights need their scale array");

    private void Launch(string entry, LaunchGeometry geometry, CudaStream? stream, Action<KernelArguments> fill)
    {
        var function = _functions[entry];
        if (geometry.SharedMemoryBytes > 48 * 1024)
        {
            function.SetMaxDynamicSharedMemory((int)geometry.SharedMemoryBytes);
        }
        fill(_args.Clear());
        function.Launch(geometry, _args, stream);
    }

    /// <summary>Frees the cached tensor maps, unloads the kernel modules and frees the argument array.</summary>
    public void Dispose()
    {
        foreach (var maps in _tensorMaps.Values)
        {
            maps.Dispose();
        }
        foreach (var module in _modules)
        {
            module.Dispose();
        }
        _args.Dispose();
    }
}
