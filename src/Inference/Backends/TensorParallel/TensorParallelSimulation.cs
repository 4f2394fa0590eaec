using Mesh.Inference.Models;
using Mesh.Kernels.Reference;

namespace Mesh.Inference.Backends.TensorParallel;

/// <summary>
/// <see cref="TensorParallelLayout"/> executed on N simulated devices on the CPU: each device holds
/// only its shards of the weights (dequantized to f32) and its kv heads, runs its part of every layer
/// with the kernels' CPU references (<see cref="ReferenceKernels"/>), and the devices meet only
/// where the layout says: an all-reduce after O and after down (every device copies its partial sum
/// to every peer, then each sums the N partials in device order, as peer copies would on GPUs) and
/// an all-gather of the classifier's vocabulary slices. It proves the layout computes the model: its
/// logits must equal a single device's. Plain Llama only (adjacent-pair RoPE without frequency
/// factors, no biases or per-head norms).
/// </summary>
public sealed class TensorParallelSimulation
{
    private readonly LlamaConfig _config;
    private readonly LlamaWeights _weights;
    private readonly Device[] _devices;
    private readonly float[] _cos;
    private readonly float[] _sin;

    /// <summary>Shards <paramref name="weights"/> over the layout's devices.</summary>
    /// <exception cref="NotSupportedException">The model uses a feature the simulation does not implement.</exception>
    public TensorParallelSimulation(TensorParallelLayout layout, LlamaWeights weights)
    {
        _config = layout.Config;
        var c = _config;
        if (c.RopeStyle != RopeStyle.Adjacent || c.RopeFrequencyFactors is not null || weights.Layers.Any(l => l.OptionalVectors.Any()))
        {
            throw new NotSupportedException("the tensor-parallel simulation covers plain Llama models (adjacent-pair RoPE, no frequency factors, biases or per-head norms)");
        }
        Layout = layout;
        _weights = weights;
        (_cos, _sin) = ReferenceKernels.RopeTables(c.HeadDim, c.ContextLength, c.RopeTheta);
        _devices = Enumerable.Range(0, layout.Devices).Select(d => new Device(
            weights.Layers.Select(l => new LayerShard(
                Rows(l.Query, layout.QueryRows(d)), Rows(l.Key, layout.KvRows(d)), Rows(l.Value, layout.KvRows(d)), Columns(l.Output, layout.QueryRows(d)),
                Rows(l.Gate, layout.HiddenRows(d)), Rows(l.Up, layout.HiddenRows(d)), Columns(l.Down, layout.HiddenRows(d)))).ToArray(),
            Rows(weights.Classifier, layout.VocabRows(d)))).ToArray();
    }

    /// <summary>The layout simulated.</summary>
    public TensorParallelLayout Layout { get; }

    /// <summary>Logits [tokens][vocab] of every position of <paramref name="tokens"/> run as one causal sequence from position 0.</summary>
    public float[] Logits(int[] tokens)
    {
        var c = _config;
        var t = tokens.Length;
        if (t == 0 || t > c.ContextLength)
        {
            throw new ArgumentException($"a prompt of 1..{c.ContextLength} tokens is needed; got {t}", nameof(tokens));
        }
        var positions = Enumerable.Range(0, t).ToArray();
        var n = Layout.Devices;
        // Replicated embedding: every device starts from the same rows.
        var x = new float[n][];
        var embedded = new float[t * c.Dim];
        for (var i = 0; i < t; i++)
        {
            Dequantize.Row(_weights.TokenEmbedding, tokens[i], embedded.AsSpan(i * c.Dim, c.Dim));
        }
        for (var d = 0; d < n; d++)
        {
            x[d] = (float[])embedded.Clone();
        }

        var partials = new float[n][];
        var qWidth = Layout.HeadsPerDevice * c.HeadDim;
        var kvWidth = Layout.KvHeadsPerDevice * c.HeadDim;
        var hidden = Layout.HiddenPerDevice;
        var scale = 1f / MathF.Sqrt(c.HeadDim);
        for (var l = 0; l < c.Layers; l++)
        {
            var layer = _weights.Layers[l];
            for (var d = 0; d < n; d++)
            {
                var shard = _devices[d].Layers[l];
                var normed = new float[t * c.Dim];
                ReferenceKernels.RmsNorm(normed, x[d], layer.AttentionNorm, t, c.Dim, c.NormEpsilon);
                var q = MatMul(shard.Query, normed, t, qWidth, c.Dim);
                var k = MatMul(shard.Key, normed, t, kvWidth, c.Dim);
                var v = MatMul(shard.Value, normed, t, kvWidth, c.Dim);
                ReferenceKernels.Rope(q, positions, _cos, _sin, qWidth, c.HeadDim);
                ReferenceKernels.Rope(k, positions, _cos, _sin, kvWidth, c.HeadDim);
                var attention = new float[t * qWidth];
                ReferenceKernels.CausalAttention(attention, q, k, v, t, Layout.HeadsPerDevice, Layout.KvHeadsPerDevice, c.HeadDim, scale);
                partials[d] = MatMul(shard.Output, attention, t, c.Dim, qWidth);
            }
            AllReduceInto(x, partials);

            for (var d = 0; d < n; d++)
            {
                var shard = _devices[d].Layers[l];
                var normed = new float[t * c.Dim];
                ReferenceKernels.RmsNorm(normed, x[d], layer.FeedForwardNorm, t, c.Dim, c.NormEpsilon);
                var gate = MatMul(shard.Gate, normed, t, hidden, c.Dim);
                var up = MatMul(shard.Up, normed, t, hidden, c.Dim);
                var activated = new float[t * hidden];
                ReferenceKernels.SwiGlu(activated, gate, up);
                partials[d] = MatMul(shard.Down, activated, t, c.Dim, hidden);
            }
            AllReduceInto(x, partials);
        }

        // Final norm on every device, each computes its vocabulary slice, then all-gather.
        var logits = new float[t * c.VocabSize];
        var vocab = Layout.VocabPerDevice;
        for (var d = 0; d < n; d++)
        {
            var normed = new float[t * c.Dim];
            ReferenceKernels.RmsNorm(normed, x[d], _weights.OutputNorm, t, c.Dim, c.NormEpsilon);
            var slice = MatMul(_devices[d].Classifier, normed, t, vocab, c.Dim);
            for (var i = 0; i < t; i++)
            {
                slice.AsSpan(i * vocab, vocab).CopyTo(logits.AsSpan((i * c.VocabSize) + (d * vocab), vocab));
            }
        }
        return logits;
    }

    /// <summary>
    /// The all-reduce: every device receives a copy of every peer's partial (the peer copies), then
    /// sums the N partials in device order 0..N−1 into its residual stream, so all devices end with
    /// the same floats.
    /// </summary>
    private static void AllReduceInto(float[][] residual, float[][] partials)
    {
        var n = partials.Length;
        for (var d = 0; d < n; d++)
        {
            var received = partials.Select(p => (float[])p.Clone()).ToArray(); // device d's receive buffers
            var sum = received[0];
            for (var peer = 1; peer < n; peer++)
            {
                ReferenceKernels.ResidualAdd(sum, received[peer]);
            }
            ReferenceKernels.ResidualAdd(residual[d], sum);
        }
    }

    private static float[] MatMul(float[] weights, float[] x, int rows, int n, int k)
    {
        var y = new float[rows * n];
        ReferenceKernels.MatMul(y, weights, x, rows, n, k);
        return y;
    }

    /// <summary>Rows <paramref name="range"/> of <paramref name="matrix"/>, dequantized: [rows][cols].</summary>
    private static float[] Rows(WeightMatrix matrix, Range range)
    {
        var (start, count) = range.GetOffsetAndLength(matrix.Rows);
        var result = new float[(long)count * matrix.Cols];
        for (var r = 0; r < count; r++)
        {
            Dequantize.Row(matrix, start + r, result.AsSpan(r * matrix.Cols, matrix.Cols));
        }
        return result;
    }

    /// <summary>Columns <paramref name="range"/> of <paramref name="matrix"/>, dequantized: [rows][columns in range].</summary>
    private static float[] Columns(WeightMatrix matrix, Range range)
    {
        var (start, count) = range.GetOffsetAndLength(matrix.Cols);
        var row = new float[matrix.Cols];
        var result = new float[(long)matrix.Rows * count];
        for (var r = 0; r < matrix.Rows; r++)
        {
            Dequantize.Row(matrix, r, row);
            row.AsSpan(start, count).CopyTo(result.AsSpan(r * count, count));
        }
        return result;
    }

    private sealed record LayerShard(float[] Query, float[] Key, float[] Value, float[] Output, float[] Gate, float[] Up, float[] Down);

    private sealed record Device(LayerShard[] Layers, float[] Classifier);
}
