using Mesh.Kernels.Layout;

namespace Mesh.Kernels.Reference;

/// <summary>
/// What each PTX kernel computes, written as plain loops on the CPU (dot products accumulated in
/// f64). The GPU check compares every kernel's output with these on fresh random inputs, and the
/// CPU tests pin these to the CPU backend's conventions (RoPE pairs, KV layout, dequantization).
/// </summary>
public static class ReferenceKernels
{
    /// <summary>residual_add_f32: y += x.</summary>
    public static void ResidualAdd(Span<float> y, ReadOnlySpan<float> x)
    {
        for (var i = 0; i < y.Length; i++)
        {
            y[i] += x[i];
        }
    }

    /// <summary>swiglu_f32: out = silu(gate) · up.</summary>
    public static void SwiGlu(Span<float> output, ReadOnlySpan<float> gate, ReadOnlySpan<float> up)
    {
        for (var i = 0; i < output.Length; i++)
        {
            var g = gate[i];
            output[i] = g / (1f + MathF.Exp(-g)) * up[i];
        }
    }

    /// <summary>rmsnorm_f32: out[r] = w ⊙ x[rows?[r] ?? r] / sqrt(mean(x²) + eps).</summary>
    public static void RmsNorm(Span<float> output, ReadOnlySpan<float> x, ReadOnlySpan<float> weight, int outRows, int dim, float eps, ReadOnlySpan<int> rows = default)
    {
        for (var r = 0; r < outRows; r++)
        {
            var src = x.Slice((rows.IsEmpty ? r : rows[r]) * dim, dim);
            double ss = 0;
            foreach (var v in src)
            {
                ss += (double)v * v;
            }
            var inv = 1.0 / Math.Sqrt((ss / dim) + eps);
            for (var i = 0; i < dim; i++)
            {
                output[(r * dim) + i] = (float)(src[i] * inv * weight[i]);
            }
        }
    }

    /// <summary>The RoPE cos/sin tables [context][head_dim/2], computed as the CPU backend computes them.</summary>
    public static (float[] Cos, float[] Sin) RopeTables(int headDim, int contextLength, float theta)
    {
        var half = headDim / 2;
        var cos = new float[contextLength * half];
        var sin = new float[contextLength * half];
        for (var pos = 0; pos < contextLength; pos++)
        {
            for (var j = 0; j < half; j++)
            {
                var frequency = 1.0f / MathF.Pow(theta, 2 * j / (float)headDim);
                var angle = pos * frequency;
                cos[(pos * half) + j] = MathF.Cos(angle);
                sin[(pos * half) + j] = MathF.Sin(angle);
            }
        }
        return (cos, sin);
    }

    /// <summary>rope_f32: rotates adjacent pairs of every head of every token in place.</summary>
    public static void Rope(Span<float> vectors, ReadOnlySpan<int> positions, ReadOnlySpan<float> cos, ReadOnlySpan<float> sin, int width, int headDim)
    {
        var half = headDim / 2;
        for (var t = 0; t < positions.Length; t++)
        {
            var v = vectors.Slice(t * width, width);
            for (var p = 0; p < width / 2; p++)
            {
                var j = p % half;
                var c = cos[(positions[t] * half) + j];
                var s = sin[(positions[t] * half) + j];
                var a = v[2 * p];
                var b = v[(2 * p) + 1];
                v[2 * p] = (a * c) - (b * s);
                v[(2 * p) + 1] = (a * s) + (b * c);
            }
        }
    }

    /// <summary>kv_append_f32: scatters each token's K and V rows into the paged pools.</summary>
    public static void KvAppend(Span<float> keyPool, Span<float> valuePool, ReadOnlySpan<float> keys, ReadOnlySpan<float> values, ReadOnlySpan<int> slots, BlockTableLayout layout)
    {
        var kvDim = layout.KvHeads * layout.HeadDim;
        for (var t = 0; t < slots.Length; t++)
        {
            for (var c = 0; c < kvDim; c++)
            {
                var offset = layout.PoolOffset(slots[t], c / layout.HeadDim, c % layout.HeadDim);
                keyPool[(int)offset] = keys[(t * kvDim) + c];
                valuePool[(int)offset] = values[(t * kvDim) + c];
            }
        }
    }

    /// <summary>matvec_* / matmul_*: y[r][n] = Σ_k W[n][k] · x[r][k] with W already dequantized to f32.</summary>
    public static void MatMul(Span<float> y, ReadOnlySpan<float> weights, ReadOnlySpan<float> x, int rows, int n, int k)
    {
        for (var r = 0; r < rows; r++)
        {
            var xr = x.Slice(r * k, k);
            for (var o = 0; o < n; o++)
            {
                var w = weights.Slice(o * k, k);
                double sum = 0;
                for (var i = 0; i < k; i++)
                {
                    sum += (double)w[i] * xr[i];
                }
                y[(r * n) + o] = (float)sum;
            }
        }
    }

    /// <summary>
    /// attention_decode_f32: token t, head h attends to positions 0..pos[t] of its sequence through
    /// the block table, softmax(q·k · scale) · v, GQA head mapping h / (heads / kv_heads).
    /// </summary>
    public static void Attention(
        Span<float> output, ReadOnlySpan<float> q, ReadOnlySpan<float> keyPool, ReadOnlySpan<float> valuePool,
        ReadOnlySpan<int> blockTables, int maxBlocks, ReadOnlySpan<int> tokenSequence, ReadOnlySpan<int> tokenPosition,
        int heads, BlockTableLayout layout, float scale)
    {
        var hd = layout.HeadDim;
        var group = heads / layout.KvHeads;
        for (var t = 0; t < tokenPosition.Length; t++)
        {
            var table = blockTables.Slice(tokenSequence[t] * maxBlocks, maxBlocks);
            var length = tokenPosition[t] + 1;
            var scores = new double[length];
            for (var h = 0; h < heads; h++)
            {
                var query = q.Slice(((t * heads) + h) * hd, hd);
                var kvHead = h / group;
                var max = double.NegativeInfinity;
                for (var p = 0; p < length; p++)
                {
                    var slot = layout.PhysicalSlot(table, p);
                    double dot = 0;
                    for (var d = 0; d < hd; d++)
                    {
                        dot += (double)query[d] * keyPool[(int)layout.PoolOffset(slot, kvHead, d)];
                    }
                    scores[p] = dot * scale;
                    max = Math.Max(max, scores[p]);
                }
                double sum = 0;
                for (var p = 0; p < length; p++)
                {
                    scores[p] = Math.Exp(scores[p] - max);
                    sum += scores[p];
                }
                for (var d = 0; d < hd; d++)
                {
                    double acc = 0;
                    for (var p = 0; p < length; p++)
                    {
                        acc += scores[p] * valuePool[(int)layout.PoolOffset(layout.PhysicalSlot(table, p), kvHead, d)];
                    }
                    output[(((t * heads) + h) * hd) + d] = (float)(acc / sum);
                }
            }
        }
    }

    /// <summary>attention_prefill_bf16: causal GQA attention over contiguous q [t][heads][hd], k, v [t][kv_heads][hd].</summary>
    public static void CausalAttention(Span<float> output, ReadOnlySpan<float> q, ReadOnlySpan<float> k, ReadOnlySpan<float> v, int tokens, int heads, int kvHeads, int headDim, float scale)
    {
        var group = heads / kvHeads;
        var scores = new double[tokens];
        for (var t = 0; t < tokens; t++)
        {
            for (var h = 0; h < heads; h++)
            {
                var kvh = h / group;
                var query = q.Slice(((t * heads) + h) * headDim, headDim);
                var max = double.NegativeInfinity;
                for (var s = 0; s <= t; s++)
                {
                    var key = k.Slice(((s * kvHeads) + kvh) * headDim, headDim);
                    double dot = 0;
                    for (var d = 0; d < headDim; d++)
                    {
                        dot += (double)query[d] * key[d];
                    }
                    scores[s] = dot * scale;
                    max = Math.Max(max, scores[s]);
                }
                double sum = 0;
                for (var s = 0; s <= t; s++)
                {
                    scores[s] = Math.Exp(scores[s] - max);
                    sum += scores[s];
                }
                for (var d = 0; d < headDim; d++)
                {
                    double acc = 0;
                    for (var s = 0; s <= t; s++)
                    {
                        acc += scores[s] * v[(((s * kvHeads) + kvh) * headDim) + d];
                    }
                    output[(((t * heads) + h) * headDim) + d] = (float)(acc / sum);
                }
            }
        }
    }
}
