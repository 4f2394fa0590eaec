using System.Numerics.Tensors;
using Mesh.Inference.Backends.Cpu;
using Mesh.Inference.Models.Lora;

namespace Mesh.Inference.Training;

/// <summary>
/// The Llama forward pass for training, over one sequence, keeping every activation the backward pass
/// needs (llm.c's <c>gpt2_forward</c> for Llama: RMSNorm, Q/K/V with biases, RoPE, causal grouped-query
/// attention, SwiGLU, tied or separate classifier, cross-entropy), with each adapted projection's
/// LoRA term added as the serving pass adds it. The numbers are the serving pass's (same operations,
/// f32): <c>TrainingPassTests</c> checks its NLL against the engine's Score. Logits are formed only at
/// positions that carry loss. One instance per worker thread; not thread-safe.
/// </summary>
internal sealed partial class TrainingPass(FrozenLlama model, TrainableLora lora, CpuRope rope)
{
    private const int TargetCount = 7;
    private LayerCache[] _layers = [];
    private int _capacity;
    private float[] _xFinal = [], _invFinal = [], _nFinal = [], _dnFinal = [];
    private float[] _logits = new float[model.Config.VocabSize];
    private float[] _projection = [];

    /// <summary>
    /// Runs <paramref name="example"/> forward and returns the summed NLL (nats) of its target tokens.
    /// With a <paramref name="gradientScale"/> (the loss weight of one token, 1 / tokens of the batch)
    /// the classifier's input gradients are kept for <see cref="Backward"/>.
    /// </summary>
    public double Forward(TrainingExample example, float? gradientScale = null)
    {
        var c = model.Config;
        var n = example.Tokens.Length;
        Ensure(n);
        int d = c.Dim, q = c.QueryDim, kv = c.KvDim, hd = c.HiddenDim;
        var x = _xFinal.AsSpan(0, n * d);
        for (var t = 0; t < n; t++)
        {
            model.Embedding.AsSpan(example.Tokens[t] * d, d).CopyTo(x.Slice(t * d, d));
        }

        var projection = _projection.AsSpan(0, n * d);
        for (var l = 0; l < c.Layers; l++)
        {
            var w = model.Layers[l];
            var cache = _layers[l];
            x.CopyTo(cache.XIn);
            Norm(cache.XIn, w.AttentionNorm, cache.Inv1, cache.N1, n);
            Project(cache, l, LoraTarget.Query, cache.N1, n, w.Query, d, q, cache.Q, w.QueryBias);
            Project(cache, l, LoraTarget.Key, cache.N1, n, w.Key, d, kv, cache.K, w.KeyBias);
            Project(cache, l, LoraTarget.Value, cache.N1, n, w.Value, d, kv, cache.V, w.ValueBias);
            for (var t = 0; t < n; t++)
            {
                rope.Rotate(cache.Q.AsSpan(t * q, q), t);
                rope.Rotate(cache.K.AsSpan(t * kv, kv), t);
            }

            Attention(cache, n);
            Project(cache, l, LoraTarget.Output, cache.Att, n, w.Output, q, d, _projection, w.OutputBias);
            TensorPrimitives.Add(x, projection, x);
            x.CopyTo(cache.XMid);

            Norm(cache.XMid, w.FeedForwardNorm, cache.Inv2, cache.N2, n);
            Project(cache, l, LoraTarget.Gate, cache.N2, n, w.Gate, d, hd, cache.G, null);
            Project(cache, l, LoraTarget.Up, cache.N2, n, w.Up, d, hd, cache.U, null);
            var g = cache.G.AsSpan(0, n * hd);
            var h = cache.H.AsSpan(0, n * hd);
            TensorPrimitives.Sigmoid(g, h);
            TensorPrimitives.Multiply(h, g, h);
            TensorPrimitives.Multiply(h, cache.U.AsSpan(0, n * hd), h);
            Project(cache, l, LoraTarget.Down, cache.H, n, w.Down, hd, d, _projection, null);
            TensorPrimitives.Add(x, projection, x);
        }

        return Loss(example, gradientScale);
    }

    /// <summary>Cross-entropy at each target position; with a scale, dL/d(final norm output) = Wᵀ·(softmax − onehot)·scale.</summary>
    private double Loss(TrainingExample example, float? gradientScale)
    {
        var c = model.Config;
        var d = c.Dim;
        var logits = _logits.AsSpan(0, c.VocabSize);
        double nll = 0;
        for (var t = 0; t < example.Tokens.Length; t++)
        {
            var target = example.Targets[t];
            if (target < 0)
            {
                continue;
            }

            var normed = _nFinal.AsSpan(t * d, d);
            _invFinal[t] = TrainingMath.RmsNorm(_xFinal.AsSpan(t * d, d), model.OutputNorm, normed, c.NormEpsilon);
            TrainingMath.Linear(normed, 1, model.Classifier, d, c.VocabSize, logits);
            var max = TensorPrimitives.Max(logits);
            double sum = 0;
            for (var v = 0; v < logits.Length; v++)
            {
                sum += Math.Exp(logits[v] - max);
            }

            var logSum = max + Math.Log(sum);
            nll += logSum - logits[target];
            if (gradientScale is not { } scale)
            {
                continue;
            }

            for (var v = 0; v < logits.Length; v++)
            {
                logits[v] = (float)Math.Exp(logits[v] - logSum) * scale;
            }

            logits[target] -= scale;
            var gradient = _dnFinal.AsSpan(t * d, d);
            gradient.Clear();
            TrainingMath.LinearBackward(logits, 1, model.Classifier, d, c.VocabSize, gradient);
        }

        return nll;
    }

    private void Norm(float[] input, float[] weight, float[] inverse, float[] output, int n)
    {
        var d = model.Config.Dim;
        for (var t = 0; t < n; t++)
        {
            inverse[t] = TrainingMath.RmsNorm(input.AsSpan(t * d, d), weight, output.AsSpan(t * d, d), model.Config.NormEpsilon);
        }
    }

    /// <summary>y = W·x (+ b) (+ scale·B·A·x when <paramref name="target"/> is adapted, its A·x kept in the cache).</summary>
    private void Project(LayerCache cache, int layer, LoraTarget target, float[] x, int n, float[] w, int inputs, int outputs, float[] y, float[]? bias)
    {
        TrainingMath.Linear(x, n, w, inputs, outputs, y, bias);
        if (lora.Get(layer, target) is { } slot)
        {
            TrainingMath.LoraForward(x.AsSpan(0, n * inputs), n, slot, lora.Scale, cache.Down[(int)target], y);
        }
    }

    /// <summary>Causal grouped-query attention; the softmax rows are kept in <see cref="LayerCache.P"/> [heads, n, n].</summary>
    private void Attention(LayerCache cache, int n)
    {
        var c = model.Config;
        int headDim = c.HeadDim, q = c.QueryDim, kv = c.KvDim, group = c.Heads / c.KvHeads;
        var scale = 1f / MathF.Sqrt(headDim);
        Array.Clear(cache.Att, 0, n * q);
        for (var h = 0; h < c.Heads; h++)
        {
            var kvOffset = h / group * headDim;
            for (var t = 0; t < n; t++)
            {
                var query = cache.Q.AsSpan((t * q) + (h * headDim), headDim);
                var p = cache.P.AsSpan(((h * n) + t) * n, t + 1);
                for (var s = 0; s <= t; s++)
                {
                    p[s] = TensorPrimitives.Dot(query, cache.K.AsSpan((s * kv) + kvOffset, headDim)) * scale;
                }

                TensorPrimitives.SoftMax(p, p);
                var output = cache.Att.AsSpan((t * q) + (h * headDim), headDim);
                for (var s = 0; s <= t; s++)
                {
                    TensorPrimitives.MultiplyAdd(cache.V.AsSpan((s * kv) + kvOffset, headDim), p[s], output, output);
                }
            }
        }
    }

    private void Ensure(int n)
    {
        var c = model.Config;
        if (n > c.ContextLength)
        {
            throw new ArgumentException($"an example of {n} tokens is longer than the model's context ({c.ContextLength})");
        }

        if (n <= _capacity)
        {
            return;
        }

        _capacity = Math.Max(n, Math.Min(c.ContextLength, _capacity * 2));
        var cap = _capacity;
        _layers = [.. Enumerable.Range(0, c.Layers).Select(_ => new LayerCache(c, lora.Rank, cap))];
        _xFinal = new float[cap * c.Dim];
        _nFinal = new float[cap * c.Dim];
        _dnFinal = new float[cap * c.Dim];
        _invFinal = new float[cap];
        _projection = new float[cap * c.Dim];
        AllocateGradients(cap);
    }

    /// <summary>What one block's forward pass keeps for its backward pass, for up to <c>capacity</c> tokens.</summary>
    private sealed class LayerCache(Models.LlamaConfig c, int rank, int capacity)
    {
        public readonly float[] XIn = new float[capacity * c.Dim], N1 = new float[capacity * c.Dim], Inv1 = new float[capacity];
        public readonly float[] Q = new float[capacity * c.QueryDim], K = new float[capacity * c.KvDim], V = new float[capacity * c.KvDim];
        public readonly float[] P = new float[(long)c.Heads * capacity * capacity], Att = new float[capacity * c.QueryDim];
        public readonly float[] XMid = new float[capacity * c.Dim], N2 = new float[capacity * c.Dim], Inv2 = new float[capacity];
        public readonly float[] G = new float[capacity * c.HiddenDim], U = new float[capacity * c.HiddenDim], H = new float[capacity * c.HiddenDim];

        /// <summary>A·x of each adapted target, [tokens, rank].</summary>
        public readonly float[][] Down = [.. Enumerable.Range(0, TargetCount).Select(_ => new float[capacity * Math.Max(rank, 1)])];
    }
}
