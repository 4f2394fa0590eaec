using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Mesh.Inference.Models;
using Mesh.Inference.Models.Lora;

namespace Mesh.Inference.Backends.Cpu;

/// <summary>
/// The Llama-family forward pass on the CPU, written as plainly as llama2.c's <c>forward()</c> but
/// over a batch of tokens from many sequences: RMSNorm, Q/K/V projections (+ biases for qwen2),
/// per-head Q/K RMSNorm (qwen3), RoPE (adjacent or NeoX pairs), grouped-query attention over the
/// paged KV cache, output projection, SwiGLU feed-forward, classifier. Matrix products are
/// vectorized (AVX2/FMA through System.Numerics.Tensors and intrinsics) and split by output rows
/// over all cores; attention (<see cref="CpuAttention"/>) by runs of a sequence's tokens and KV heads.
/// </summary>
public sealed unsafe class CpuBackend : IInferenceBackend, IHostParallelism
{
    // Work estimate of one RMSNorm element in multiply-add units (square-sum, scale, weight), for the small-work threshold.
    private const long RmsNormCost = 3;

    private readonly LlamaWeights _weights;
    private readonly CpuKvCache _kv;
    private readonly CpuRope _rope;
    private readonly CpuParallel _parallel;
    private readonly CpuAttention _attention;
    private readonly CpuActivations _input = new();
    private readonly CpuActivations _attentionOut = new();
    private readonly CpuActivations _hidden = new();
    private readonly CpuActivations _final = new();
    private readonly CpuLora _lora = new();
    private float[] _x = [];
    private float[] _q = [];
    private float[] _k = [];
    private float[] _v = [];
    private float[] _gate = [];
    private float[] _up = [];
    private float[] _projected = [];

    /// <summary>
    /// Allocates the KV cache (<see cref="BackendOptions.ResolveBlockCount"/> blocks, f32) and the worker
    /// pool (<see cref="BackendOptions.ResolveThreads"/>) for <paramref name="weights"/>, which stay where
    /// the loader mapped them.
    /// </summary>
    public CpuBackend(LlamaConfig config, LlamaWeights weights, BackendOptions options)
    {
        Config = config;
        _weights = weights;
        KvGeometry = new KvCacheGeometry(options.KvBlockSize, options.ResolveBlockCount(config));
        _kv = new CpuKvCache(config.Layers, config.KvDim, KvGeometry);
        _rope = new CpuRope(config);
        _parallel = new CpuParallel(options.ResolveThreads(), Math.Max(config.ContextLength, Math.Max(config.HiddenDim, Math.Max(config.Dim, config.QueryDim))), options.CpuParallelism);
        _attention = new CpuAttention(config, _kv, _parallel, options.PerTokenAttention);
    }

    /// <inheritdoc/>
    public string Name => "cpu";

    /// <inheritdoc/>
    public LlamaConfig Config { get; }

    /// <inheritdoc/>
    public KvCacheGeometry KvGeometry { get; }

    /// <inheritdoc/>
    public bool SupportsLoraAdapters => true;

    /// <summary>Worker threads in use.</summary>
    public int Threads => _parallel.Threads;

    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Forward(ForwardBatch batch, Span<float> logits)
    {
        var n = batch.Count;
        var c = Config;
        if (n == 0)
        {
            return;
        }

        batch.Validate(c, logits.Length);
        EnsureBuffers(n);
        _lora.Group(batch);
        var x = _x.AsSpan(0, n * c.Dim);
        for (var i = 0; i < n; i++)
        {
            Dequantize.Row(_weights.TokenEmbedding, batch.Tokens[i], x.Slice(i * c.Dim, c.Dim));
        }

        for (var l = 0; l < c.Layers; l++)
        {
            var layer = _weights.Layers[l];

            // Attention: x += Wo · attention(RoPE(Wq · norm(x) + bq), RoPE(Wk · norm(x) + bk), Wv · norm(x) + bv) + bo,
            // Q and K heads RMS-normalised before RoPE where the model has those norms (qwen3).
            RmsNorm(_x, layer.AttentionNorm, _input.Reset(n, c.Dim), n);
            fixed (float* q = _q, k = _k, v = _v)
            {
                _parallel.MatMul(_input, (layer.Query, (nint)q), (layer.Key, (nint)k), (layer.Value, (nint)v));
                _lora.Apply(l, LoraTarget.Query, _input, q);
                _lora.Apply(l, LoraTarget.Key, _input, k);
                _lora.Apply(l, LoraTarget.Value, _input, v);
            }

            AddBias(_q.AsSpan(0, n * c.QueryDim), layer.QueryBias);
            AddBias(_k.AsSpan(0, n * c.KvDim), layer.KeyBias);
            AddBias(_v.AsSpan(0, n * c.KvDim), layer.ValueBias);
            NormalizeHeads(_q.AsSpan(0, n * c.QueryDim), layer.QueryNorm);
            NormalizeHeads(_k.AsSpan(0, n * c.KvDim), layer.KeyNorm);
            for (var i = 0; i < n; i++)
            {
                _rope.Rotate(_q.AsSpan(i * c.QueryDim, c.QueryDim), batch.Positions[i]);
                _rope.Rotate(_k.AsSpan(i * c.KvDim, c.KvDim), batch.Positions[i]);
                var table = batch.BlockTables[batch.SequenceOf[i]];
                _k.AsSpan(i * c.KvDim, c.KvDim).CopyTo(new Span<float>(_kv.Key(l, table, batch.Positions[i]), c.KvDim));
                _v.AsSpan(i * c.KvDim, c.KvDim).CopyTo(new Span<float>(_kv.Value(l, table, batch.Positions[i]), c.KvDim));
            }

            _attention.Run(batch, l, _q, _attentionOut.Reset(n, c.QueryDim));
            fixed (float* o = _projected)
            {
                _parallel.MatMul(_attentionOut, (layer.Output, (nint)o));
                _lora.Apply(l, LoraTarget.Output, _attentionOut, o);
            }

            AddBias(_projected.AsSpan(0, n * c.Dim), layer.OutputBias);

            TensorPrimitives.Add(x, _projected.AsSpan(0, n * c.Dim), x);

            // Feed-forward: x += W2 · (silu(W1 · norm(x)) ⊙ (W3 · norm(x)))
            RmsNorm(_x, layer.FeedForwardNorm, _input.Reset(n, c.Dim), n);
            fixed (float* g = _gate, u = _up)
            {
                _parallel.MatMul(_input, (layer.Gate, (nint)g), (layer.Up, (nint)u));
                _lora.Apply(l, LoraTarget.Gate, _input, g);
                _lora.Apply(l, LoraTarget.Up, _input, u);
            }

            var hidden = new Span<float>(_hidden.Reset(n, c.HiddenDim), n * c.HiddenDim);
            var gate = _gate.AsSpan(0, n * c.HiddenDim);
            // silu(g) = g · σ(g) = g / (1 + e^-g)
            TensorPrimitives.Sigmoid(gate, hidden);
            TensorPrimitives.Multiply(hidden, gate, hidden);
            TensorPrimitives.Multiply(hidden, _up.AsSpan(0, n * c.HiddenDim), hidden);
            fixed (float* o = _projected)
            {
                _parallel.MatMul(_hidden, (layer.Down, (nint)o));
                _lora.Apply(l, LoraTarget.Down, _hidden, o);
            }

            TensorPrimitives.Add(x, _projected.AsSpan(0, n * c.Dim), x);
        }

        // Only the tokens that asked for logits go through the final norm and the classifier.
        var rows = batch.LogitCount;
        var finalInput = _final.Reset(rows, c.Dim);
        var xs = _x;
        _parallel.ForRows(rows, (long)rows * c.Dim * RmsNormCost, (r, _) =>
        {
            var i = batch.LogitTokens[r];
            RmsNormRow(xs.AsSpan(i * c.Dim, c.Dim), _weights.OutputNorm, new Span<float>(finalInput + (r * c.Dim), c.Dim), c.NormEpsilon);
        });

        fixed (float* output = logits)
        {
            _parallel.MatMul(_final, (_weights.Classifier, (nint)output));
        }
    }

    /// <inheritdoc/>
    void IHostParallelism.For(int count, long work, Action<int> body) => _parallel.For(count, work, (i, _) => body(i));

    /// <summary>Stops the worker threads and frees the native memory of the KV cache and the activation buffers.</summary>
    public void Dispose()
    {
        _parallel.Dispose();
        _kv.Dispose();
        _input.Dispose();
        _attentionOut.Dispose();
        _hidden.Dispose();
        _final.Dispose();
    }

    /// <summary>Adds <paramref name="bias"/> (null: none) to every row of <paramref name="rows"/>.</summary>
    private static void AddBias(Span<float> rows, float[]? bias)
    {
        if (bias is null)
        {
            return;
        }

        for (var start = 0; start < rows.Length; start += bias.Length)
        {
            var row = rows.Slice(start, bias.Length);
            TensorPrimitives.Add(row, bias, row);
        }
    }

    /// <summary>RMSNorm of each head_dim slice of <paramref name="rows"/> with <paramref name="weight"/> (null: none), as llama.cpp's qwen3 attn_q_norm/attn_k_norm.</summary>
    private void NormalizeHeads(Span<float> rows, float[]? weight)
    {
        if (weight is null)
        {
            return;
        }

        for (var start = 0; start < rows.Length; start += weight.Length)
        {
            var head = rows.Slice(start, weight.Length);
            RmsNormRow(head, weight, head, Config.NormEpsilon);
        }
    }

    /// <summary>RMSNorm of each of the <paramref name="n"/> rows of <paramref name="x"/> (<see cref="_x"/>) into <paramref name="output"/>, rows split over the threads when there are enough.</summary>
    private void RmsNorm(float[] x, float[] weight, float* output, int n)
    {
        var dim = Config.Dim;
        var epsilon = Config.NormEpsilon;
        _parallel.ForRows(n, (long)n * dim * RmsNormCost, (i, _) =>
            RmsNormRow(x.AsSpan(i * dim, dim), weight, new Span<float>(output + (i * dim), dim), epsilon));
    }

    /// <summary>o = w ⊙ x / sqrt(mean(x²) + ε), as llama2.c's rmsnorm.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void RmsNormRow(ReadOnlySpan<float> x, ReadOnlySpan<float> weight, Span<float> output, float epsilon)
    {
        var meanSquare = TensorPrimitives.SumOfSquares(x) / x.Length;
        var inverse = 1f / MathF.Sqrt(meanSquare + epsilon);
        TensorPrimitives.Multiply(x, inverse, output);
        TensorPrimitives.Multiply(output, weight, output);
    }

    private void EnsureBuffers(int n)
    {
        var c = Config;
        if (_x.Length >= n * c.Dim)
        {
            return;
        }

        var capacity = Math.Max(n, _x.Length / c.Dim * 2);
        _x = new float[capacity * c.Dim];
        _q = new float[capacity * c.QueryDim];
        _k = new float[capacity * c.KvDim];
        _v = new float[capacity * c.KvDim];
        _gate = new float[capacity * c.HiddenDim];
        _up = new float[capacity * c.HiddenDim];
        _projected = new float[capacity * c.Dim];
    }
}
