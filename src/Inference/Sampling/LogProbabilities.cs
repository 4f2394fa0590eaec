using System.Numerics.Tensors;
using Mesh.Inference.Engine;

namespace Mesh.Inference.Sampling;

/// <summary>Log-softmax read-outs of a logits row: what Score and top-n logprobs report.</summary>
public static class LogProbabilities
{
    /// <summary>log softmax(logits)[token], computed stably in double precision.</summary>
    public static float Of(ReadOnlySpan<float> logits, int token) => (float)(logits[token] - LogSumExp(logits));

    /// <summary>
    /// The chosen token's log-probability and the <paramref name="top"/> most likely tokens', most
    /// likely first (ties: lower id first). Partial selection with a min-heap of <paramref name="top"/>
    /// entries: O(V log k) instead of sorting the whole vocabulary every token.
    /// </summary>
    public static TokenLogprob For(ReadOnlySpan<float> logits, int token, int top)
    {
        var lse = LogSumExp(logits);
        top = Math.Min(top, logits.Length);
        // The heap's root is the worst kept entry: the lowest logit, and among equal logits the highest id.
        var heap = new PriorityQueue<int, (float Logit, int NegatedId)>(top);
        for (var i = 0; i < logits.Length; i++)
        {
            var key = (logits[i], -i);
            if (heap.Count < top)
            {
                heap.Enqueue(i, key);
            }
            else if (heap.TryPeek(out _, out var worst) && key.CompareTo(worst) > 0)
            {
                heap.DequeueEnqueue(i, key);
            }
        }

        var best = new (int, float)[heap.Count];
        for (var i = best.Length - 1; i >= 0; i--)
        {
            var id = heap.Dequeue();
            best[i] = (id, (float)(logits[id] - lse));
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
