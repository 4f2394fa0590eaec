using Mesh.Inference.Models;
using Mesh.Kernels;
using Mesh.Kernels.Driver;
using Mesh.Kernels.Launch;
using Mesh.Kernels.Layout;
using Mesh.Kernels.Reference;

namespace Mesh.Inference.Backends.Cuda;

/// <summary>
/// The Llama forward pass on one CUDA device, the same steps as <see cref="Cpu.CpuBackend"/> with
/// each step one of the hand-written PTX kernels: embedding gather, RMSNorm, projections (matvec for
/// small batches, the tensor-core matmul for prefill chunks of bf16/f16 models), RoPE, KV append into
/// the paged cache ([block][kv_head][slot][head_dim] per layer), paged attention, SwiGLU, residual
/// adds, final norm of the logit rows and the classifier. All launches go on one stream; the host
/// waits only to copy the logits back.
/// </summary>
public sealed class CudaBackend : IDeviceSamplingBackend
{
    /// <summary>Batches of at least this many tokens use the tensor-core matmul (when the weights are bf16/f16).</summary>
    public const int MatMulMinTokens = 16;

    /// <summary>Steps of at most this many tokens (decode) run as captured CUDA graphs.</summary>
    public const int MaxGraphTokens = 8;

    private readonly CudaContext _context;
    private readonly CudaKernels _kernels;
    private readonly CudaStream _stream;
    private readonly List<IDisposable> _owned = [];
    private readonly CudaMatrix _embedding;
    private readonly CudaMatrix _classifier;
    private readonly CudaLayer[] _layers;
    private readonly DeviceBuffer _outputNorm;
    private readonly DeviceBuffer _ropeCos;
    private readonly DeviceBuffer _ropeSin;
    private readonly DeviceBuffer[] _keyPools;
    private readonly DeviceBuffer[] _valuePools;
    private readonly BlockTableLayout _layout;
    private readonly Dictionary<(int Tokens, int Rows), CudaGraph> _graphs = [];
    private readonly CudaSampling _sampling;
    private CudaScratch _scratch;
    private bool _graphsEnabled = true;

    internal CudaBackend(CudaContext context, LlamaConfig config, LlamaWeights weights, BackendOptions options)
    {
        _context = context;
        Config = config;
        KvGeometry = new KvCacheGeometry(options.KvBlockSize, options.ResolveBlockCount(config));
        KernelShapes.Attention(1, config.Heads, config.KvHeads, config.HeadDim); // rejects head sizes the kernel cannot hold, before allocating
        _kernels = Own(new CudaKernels(context));
        _stream = Own(CudaStream.Create());

        var uploaded = new Dictionary<WeightMatrix, CudaMatrix>(ReferenceEqualityComparer.Instance);
        CudaMatrix Upload(WeightMatrix m)
        {
            if (!uploaded.TryGetValue(m, out var gpu))
            {
                gpu = Own(CudaMatrix.Upload(m));
                uploaded[m] = gpu;
            }
            return gpu;
        }

        _embedding = CudaMatrix.QuantFormatOf(weights.TokenEmbedding.Type) is null
            ? Upload(weights.TokenEmbedding)
            : Own(CudaMatrix.UploadDequantized(weights.TokenEmbedding));
        _classifier = Upload(weights.Classifier);
        _layers = weights.Layers.Select(l => new CudaLayer(
            Floats(l.AttentionNorm), Upload(l.Query), Upload(l.Key), Upload(l.Value), Upload(l.Output),
            Floats(l.FeedForwardNorm), Upload(l.Gate), Upload(l.Down), Upload(l.Up))).ToArray();
        _outputNorm = Floats(weights.OutputNorm);
        WeightBytes = uploaded.Values.Sum(m => m.DeviceBytes);

        var (cos, sin) = ReferenceKernels.RopeTables(config.HeadDim, config.ContextLength, config.RopeTheta);
        _ropeCos = Floats(cos);
        _ropeSin = Floats(sin);

        _layout = new BlockTableLayout(KvGeometry.BlockSize, KvGeometry.BlockCount, config.KvHeads, config.HeadDim);
        _keyPools = new DeviceBuffer[config.Layers];
        _valuePools = new DeviceBuffer[config.Layers];
        for (var l = 0; l < config.Layers; l++)
        {
            _keyPools[l] = Own(DeviceBuffer.Allocate<float>(_layout.FloatsPerPool));
            _valuePools[l] = Own(DeviceBuffer.Allocate<float>(_layout.FloatsPerPool));
        }
        _scratch = new CudaScratch(config, 16);
        _sampling = Own(new CudaSampling());
        SamplesOnDevice = options.DeviceSampling;
    }

    /// <inheritdoc/>
    public string Name => "cuda";

    /// <inheritdoc/>
    public LlamaConfig Config { get; }

    /// <inheritdoc/>
    public KvCacheGeometry KvGeometry { get; }

    /// <summary>The device this backend runs on.</summary>
    public CudaDevice Device => _context.Device;

    /// <summary>Device memory the weights take.</summary>
    public long WeightBytes { get; }

    /// <summary>Whether steps finish on the device (<see cref="BackendOptions.DeviceSampling"/>).</summary>
    public bool SamplesOnDevice { get; }

    /// <inheritdoc/>
    public void Forward(ForwardBatch batch, Span<float> logits)
    {
        if (batch.Count == 0)
        {
            return;
        }
        batch.Validate(Config, logits.Length);
        var rows = Run(batch);
        _stream.Synchronize();
        if (rows > 0)
        {
            _scratch.Logits.CopyTo(logits[..(rows * Config.VocabSize)]);
        }
    }

    /// <summary>The forward pass, then masks, penalties and the draw on the device; only the token ids are copied back.</summary>
    public void ForwardAndSample(ForwardBatch batch, DeviceSamplingBatch sampling, Span<int> tokens)
    {
        if (batch.Count == 0)
        {
            return;
        }
        if (sampling.Count != batch.LogitCount || sampling.VocabSize != Config.VocabSize || tokens.Length < sampling.Count)
        {
            throw new ArgumentException($"the batch has {batch.LogitCount} logit rows of {Config.VocabSize}; the sampling describes {sampling.Count} rows of {sampling.VocabSize} and {tokens.Length} tokens fit", nameof(sampling));
        }
        batch.Validate(Config, batch.LogitCount * Config.VocabSize);
        if (Run(batch) > 0)
        {
            _sampling.Run(_kernels, _scratch.Logits, sampling, _stream, tokens);
        }
        else
        {
            _stream.Synchronize();
        }
    }

    /// <summary>Uploads the batch's inputs and enqueues the forward pass up to the logits on the device (not waited for); returns the logit rows.</summary>
    private int Run(ForwardBatch batch)
    {
        var n = batch.Count;
        var c = Config;
        var slots = new int[n];
        var sequences = batch.SequenceOf.ToArray();
        for (var i = 0; i < n; i++)
        {
            slots[i] = _layout.PhysicalSlot(batch.BlockTables[sequences[i]], batch.Positions[i]);
        }
        // Block tables padded to a fixed width (a whole context), so a captured decode graph stays
        // valid as sequences grow.
        var width = Math.Max((c.ContextLength + KvGeometry.BlockSize - 1) / KvGeometry.BlockSize, batch.BlockTables.Max(t => t.Length));
        var tables = new int[batch.BlockTables.Count * width];
        for (var q = 0; q < batch.BlockTables.Count; q++)
        {
            batch.BlockTables[q].CopyTo(tables, q * width);
        }

        _context.MakeCurrent();
        var scratch = _scratch.Ensure(n);
        var tableBuffer = scratch.BlockTables;
        var blockTables = scratch.EnsureBlockTables(tables.Length);
        if (!ReferenceEquals(scratch, _scratch) || !ReferenceEquals(tableBuffer, blockTables))
        {
            ClearGraphs(); // the buffers the graphs point at are gone
        }
        _scratch = scratch;
        var s = _scratch;
        var stream = _stream;
        s.Tokens.CopyFromAsync(batch.Tokens, stream);
        s.Positions.CopyFromAsync(batch.Positions, stream);
        s.Sequences.CopyFromAsync<int>(sequences, stream);
        s.Slots.CopyFromAsync<int>(slots, stream);
        s.LogitRows.CopyFromAsync(batch.LogitTokens, stream);
        blockTables.CopyFromAsync<int>(tables, stream);

        var rows = batch.LogitCount;
        if (n <= MaxGraphTokens && _graphsEnabled)
        {
            ReplayOrCapture(n, rows, width, blockTables);
        }
        else
        {
            Enqueue(n, rows, width, blockTables);
        }
        return rows;
    }

    /// <summary>
    /// Decode steps (few tokens) run as a CUDA graph: the step's ~15 launches per layer are captured
    /// once per (tokens, logit rows) and replayed with one cuGraphLaunch, which removes the per-launch
    /// CPU cost that dominates small-batch decoding. Inputs change only in the device buffers the
    /// graph reads. If capture fails, graphs are switched off and launches go directly.
    /// </summary>
    private void ReplayOrCapture(int n, int rows, int width, DeviceBuffer blockTables)
    {
        if (!_graphs.TryGetValue((n, rows), out var graph))
        {
            try
            {
                _stream.BeginCapture();
                try
                {
                    Enqueue(n, rows, width, blockTables);
                }
                finally
                {
                    graph = CudaGraph.EndCapture(_stream);
                }
            }
            catch (CudaException)
            {
                graph?.Dispose();
                _graphsEnabled = false;
                Enqueue(n, rows, width, blockTables);
                return;
            }
            _graphs[(n, rows)] = graph;
        }
        graph.Launch(_stream);
    }

    private void ClearGraphs()
    {
        foreach (var graph in _graphs.Values)
        {
            graph.Dispose();
        }
        _graphs.Clear();
    }

    /// <summary>Queues one forward step on the stream; every input is already in the scratch buffers.</summary>
    private void Enqueue(int n, int rows, int maxBlocks, DeviceBuffer blockTables)
    {
        var c = Config;
        var s = _scratch;
        var stream = _stream;
        _kernels.Embedding(s.X, _embedding.Format, _embedding.Data, _embedding.Scales, s.Tokens, n, c.Dim, stream);
        var scale = 1f / MathF.Sqrt(c.HeadDim);
        for (var l = 0; l < c.Layers; l++)
        {
            var layer = _layers[l];

            // x += Wo · attention(RoPE(Wq · norm(x)), RoPE(Wk · norm(x)), Wv · norm(x))
            _kernels.RmsNorm(s.Normed, s.X, layer.AttentionNorm, null, n, c.Dim, c.NormEpsilon, stream);
            Project(s.Q, layer.Query, s.Normed, n);
            Project(s.K, layer.Key, s.Normed, n);
            Project(s.V, layer.Value, s.Normed, n);
            _kernels.Rope(s.Q, s.Positions, _ropeCos, _ropeSin, n, c.Dim, c.HeadDim, stream);
            _kernels.Rope(s.K, s.Positions, _ropeCos, _ropeSin, n, c.KvDim, c.HeadDim, stream);
            _kernels.KvAppend(_keyPools[l], _valuePools[l], s.K, s.V, s.Slots, n, c.KvHeads, c.HeadDim, KvGeometry.BlockSize, stream);
            _kernels.Attention(s.Attention, s.Q, _keyPools[l], _valuePools[l], blockTables, s.Sequences, s.Positions,
                n, c.Heads, c.KvHeads, c.HeadDim, maxBlocks, KvGeometry.BlockSize, scale, stream);
            Project(s.Projected, layer.Output, s.Attention, n);
            _kernels.ResidualAdd(s.X, s.Projected, (long)n * c.Dim, stream);

            // x += W2 · (silu(W1 · norm(x)) ⊙ (W3 · norm(x)))
            _kernels.RmsNorm(s.Normed, s.X, layer.FeedForwardNorm, null, n, c.Dim, c.NormEpsilon, stream);
            Project(s.Gate, layer.Gate, s.Normed, n);
            Project(s.Up, layer.Up, s.Normed, n);
            _kernels.SwiGlu(s.Hidden, s.Gate, s.Up, (long)n * c.HiddenDim, stream);
            Project(s.Projected, layer.Down, s.Hidden, n);
            _kernels.ResidualAdd(s.X, s.Projected, (long)n * c.Dim, stream);
        }

        if (rows > 0)
        {
            _kernels.RmsNorm(s.Final, s.X, _outputNorm, s.LogitRows, rows, c.Dim, c.NormEpsilon, stream);
            Project(s.Logits, _classifier, s.Final, rows);
        }
    }

    /// <summary>y = x · Wᵀ for <paramref name="rows"/> activation rows: tensor cores for prefill-sized bf16/f16 batches, else matvec.</summary>
    private void Project(DeviceBuffer y, CudaMatrix w, DeviceBuffer x, int rows)
    {
        if (w.Quant is { } quant)
        {
            // Prefill over Q4_0 and K-quant blocks: the quantized GEMM reads W once per 64 tokens, not once per token.
            if (rows >= MatMulMinTokens)
            {
                _kernels.MatMulQuant(y, quant, w.Data, x, rows, w.Rows, w.Cols, _stream);
                return;
            }
            _kernels.MatVecQuant(y, quant, w.Data, x, rows, w.Rows, w.Cols, _stream);
            return;
        }
        var tensorCores = rows >= MatMulMinTokens
            && w.Format is WeightFormat.BF16 or WeightFormat.F16
            && w.Cols % KernelShapes.MatMulTileK == 0 && w.Rows % 8 == 0;
        if (tensorCores)
        {
            _kernels.Convert(_scratch.HalfOperand, w.Format, x, (long)rows * w.Cols, _stream);
            _kernels.MatMul(y, w.Format, _scratch.HalfOperand, w.Data, rows, w.Rows, w.Cols, _stream);
        }
        else
        {
            _kernels.MatVec(y, w.Format, w.Data, w.Scales, x, rows, w.Rows, w.Cols, _stream);
        }
    }

    private DeviceBuffer Floats(float[] values)
    {
        var buffer = Own(DeviceBuffer.Allocate<float>(values.Length));
        buffer.CopyFrom<float>(values);
        return buffer;
    }

    private T Own<T>(T resource) where T : IDisposable
    {
        _owned.Add(resource);
        return resource;
    }

    /// <summary>Frees the device memory (weights, KV pools, scratch) and the context.</summary>
    public void Dispose()
    {
        _context.MakeCurrent();
        ClearGraphs();
        _scratch.Dispose();
        for (var i = _owned.Count - 1; i >= 0; i--)
        {
            _owned[i].Dispose();
        }
        _context.Dispose();
    }

    private sealed record CudaLayer(
        DeviceBuffer AttentionNorm, CudaMatrix Query, CudaMatrix Key, CudaMatrix Value, CudaMatrix Output,
        DeviceBuffer FeedForwardNorm, CudaMatrix Gate, CudaMatrix Down, CudaMatrix Up);
}
