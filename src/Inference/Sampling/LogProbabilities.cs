using System.Numerics.Tensors;
using Mesh.Inference.Engine;

namespace Mesh.Inference.Sampling;

/// <summary>Log-softmax read-outs of a logits row: what Score and top-n logprobs report.</summary>
public static class LogProbabilities
{
    /// <summary>log softmax(logits)[token], computed stably in double precision.</summary>
    public static float Of(ReadOnlySpan<float> logits, int token) => (float)(logits[token] - LogSumExp(logits));

    /// <summary>The chosen token's log-probability and the <paramref name="top"/> most likely tokens'.</summary>
    public static TokenLogprob For(ReadOnlySpan<float> logits, int token, int top)
    {
        var lse = LogSumExp(logits);
        var best = new List<(int, float)>(top);
        var order = new int[logits.Length];
        var keys = new float[logits.Length];
        for (var i = 0; i < logits.Length; i++)
        {
            order[i] = i;
            keys[i] = -logits[i];
        }

        Array.Sort(keys, order);
        for (var i = 0; i < Math.Min(top, order.Length); i++)
        {
            best.Add((order[i], (float)(logits[order[i]] - lse)));
        }

        return new TokenLogprob(token, (float)(logits[token] - lse), best);
    }

    private static double LogSumExp(ReadOnlySpan<float> logits)
    {
        var max = TensorPrimitives.Max(logits);
        var sum = 0.0;
        foreach (var l in logits)
        {
            sum += Math.Exp(l - max);
        }

        return max + Math.Log(sum);
    }
}
