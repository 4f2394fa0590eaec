using System.Numerics.Tensors;
using Mesh.Inference.Models.Lora;

namespace Mesh.Inference.Training;

/// <summary>
/// The backward pass (llm.c's <c>gpt2_backward</c> for Llama): from the classifier's input gradients
/// kept by <see cref="Forward"/>, back through the final RMSNorm and each block in reverse (SwiGLU,
/// the residual adds, attention's softmax and value sums, inverse RoPE, the projections by Wᵀ), adding
/// into the LoRA factors' gradients. Base weights are frozen: they get no gradients, but every
/// activation gradient flows through them.
/// </summary>
internal sealed partial class TrainingPass
{
    private float[] _dx = [], _dn = [], _dq = [], _dk = [], _dv = [], _dAtt = [], _dh = [], _dg = [], _du = [], _scratch = [];

    /// <summary>
    /// Adds ∂loss/∂A and ∂loss/∂B of every slot into <paramref name="gradients"/>, for the example the
    /// last <see cref="Forward"/> ran with a gradient scale.
    /// </summary>
    public void Backward(TrainingExample example, LoraGradients gradients)
    {
        var c = model.Config;
        var n = example.Tokens.Length;
        int d = c.Dim, q = c.QueryDim, kv = c.KvDim, hd = c.HiddenDim;
        var dx = _dx.AsSpan(0, n * d);
        dx.Clear();
        for (var t = 0; t < n; t++)
        {
            if (example.Targets[t] >= 0)
            {
                TrainingMath.RmsNormBackward(_xFinal.AsSpan(t * d, d), model.OutputNorm, _invFinal[t], _dnFinal.AsSpan(t * d, d), dx.Slice(t * d, d), _scratch);
            }
        }

        for (var l = c.Layers - 1; l >= 0; l--)
        {
            var w = model.Layers[l];
            var cache = _layers[l];

            // x = XMid + Wd·H: dH = Wdᵀ·dx; H = silu(G) ⊙ U.
            var dh = Clear(_dh, n * hd);
            Unproject(cache, l, LoraTarget.Down, cache.H, n, w.Down, hd, d, _dx, _dh, gradients);
            var dg = Clear(_dg, n * hd);
            var du = Clear(_du, n * hd);
            for (var i = 0; i < n * hd; i++)
            {
                var gate = cache.G[i];
                var sigmoid = 1f / (1f + MathF.Exp(-gate));
                du[i] = dh[i] * gate * sigmoid;
                dg[i] = dh[i] * cache.U[i] * sigmoid * (1f + (gate * (1f - sigmoid)));
            }

            Clear(_dn, n * d);
            Unproject(cache, l, LoraTarget.Gate, cache.N2, n, w.Gate, d, hd, _dg, _dn, gradients);
            Unproject(cache, l, LoraTarget.Up, cache.N2, n, w.Up, d, hd, _du, _dn, gradients);
            NormBackward(cache.XMid, w.FeedForwardNorm, cache.Inv2, n);

            // XMid = XIn + Wo·Att.
            Clear(_dAtt, n * q);
            Unproject(cache, l, LoraTarget.Output, cache.Att, n, w.Output, q, d, _dx, _dAtt, gradients);
            AttentionBackward(cache, n);
            for (var t = 0; t < n; t++)
            {
                rope.Rotate(_dq.AsSpan(t * q, q), t, inverse: true);
                rope.Rotate(_dk.AsSpan(t * kv, kv), t, inverse: true);
            }

            Clear(_dn, n * d);
            Unproject(cache, l, LoraTarget.Query, cache.N1, n, w.Query, d, q, _dq, _dn, gradients);
            Unproject(cache, l, LoraTarget.Key, cache.N1, n, w.Key, d, kv, _dk, _dn, gradients);
            Unproject(cache, l, LoraTarget.Value, cache.N1, n, w.Value, d, kv, _dv, _dn, gradients);
            NormBackward(cache.XIn, w.AttentionNorm, cache.Inv1, n);
        }
    }

    private static Span<float> Clear(float[] buffer, int length)
    {
        var span = buffer.AsSpan(0, length);
        span.Clear();
        return span;
    }

    /// <summary>dx += Wᵀ·dy for y = W·x, plus the LoRA term's input gradient and its factors' gradients.</summary>
    private void Unproject(LayerCache cache, int layer, LoraTarget target, float[] x, int n, float[] w, int inputs, int outputs, float[] dy, float[] dx, LoraGradients gradients)
    {
        TrainingMath.LinearBackward(dy.AsSpan(0, n * outputs), n, w, inputs, outputs, dx);
        if (lora.Get(layer, target) is { } slot)
        {
            TrainingMath.LoraBackward(x, cache.Down[(int)target], dy, n, slot, lora.Scale, gradients.A[slot.Index], gradients.B[slot.Index], dx, _scratch);
        }
    }

    /// <summary>The residual stream's gradient gains the RMSNorm's input gradient from <see cref="_dn"/>.</summary>
    private void NormBackward(float[] input, float[] weight, float[] inverse, int n)
    {
        var d = model.Config.Dim;
        for (var t = 0; t < n; t++)
        {
            TrainingMath.RmsNormBackward(input.AsSpan(t * d, d), weight, inverse[t], _dn.AsSpan(t * d, d), _dx.AsSpan(t * d, d), _scratch);
        }
    }

    /// <summary>
    /// From dAtt: dV[s] += P[t,s]·dAtt[t]; dP[t,s] = dAtt[t]·V[s]; dScore = P ⊙ (dP − Σ P ⊙ dP);
    /// dQ[t] += dScore·K/√d; dK[s] += dScore·Q[t]/√d (gradients of the rotated Q and K).
    /// </summary>
    private void AttentionBackward(LayerCache cache, int n)
    {
        var c = model.Config;
        int headDim = c.HeadDim, q = c.QueryDim, kv = c.KvDim, group = c.Heads / c.KvHeads;
        var scale = 1f / MathF.Sqrt(headDim);
        Clear(_dq, n * q);
        Clear(_dk, n * kv);
        Clear(_dv, n * kv);
        var dp = _scratch.AsSpan(0, n);
        for (var h = 0; h < c.Heads; h++)
        {
            var kvOffset = h / group * headDim;
            for (var t = 0; t < n; t++)
            {
                var p = cache.P.AsSpan(((h * n) + t) * n, t + 1);
                var dOut = _dAtt.AsSpan((t * q) + (h * headDim), headDim);
                for (var s = 0; s <= t; s++)
                {
                    var dv = _dv.AsSpan((s * kv) + kvOffset, headDim);
                    TensorPrimitives.MultiplyAdd(dOut, p[s], dv, dv);
                    dp[s] = TensorPrimitives.Dot(dOut, cache.V.AsSpan((s * kv) + kvOffset, headDim));
                }

                var weighted = TensorPrimitives.Dot(p, dp[..(t + 1)]);
                var query = cache.Q.AsSpan((t * q) + (h * headDim), headDim);
                var dQuery = _dq.AsSpan((t * q) + (h * headDim), headDim);
                for (var s = 0; s <= t; s++)
                {
                    var dScore = p[s] * (dp[s] - weighted) * scale;
                    if (dScore == 0)
                    {
                        continue;
                    }

                    TensorPrimitives.MultiplyAdd(cache.K.AsSpan((s * kv) + kvOffset, headDim), dScore, dQuery, dQuery);
                    var dKey = _dk.AsSpan((s * kv) + kvOffset, headDim);
                    TensorPrimitives.MultiplyAdd(query, dScore, dKey, dKey);
                }
            }
        }
    }

    private void AllocateGradients(int capacity)
    {
        var c = model.Config;
        _dx = new float[capacity * c.Dim];
        _dn = new float[capacity * c.Dim];
        _dq = new float[capacity * c.QueryDim];
        _dAtt = new float[capacity * c.QueryDim];
        _dk = new float[capacity * c.KvDim];
        _dv = new float[capacity * c.KvDim];
        _dh = new float[capacity * c.HiddenDim];
        _dg = new float[capacity * c.HiddenDim];
        _du = new float[capacity * c.HiddenDim];
        _scratch = new float[Math.Max(capacity, Math.Max(c.Dim, Math.Max(lora.Rank, c.HiddenDim)))];
    }
}
