using LLama;
using LLama.Common;
using LLama.Native;

namespace Mesh.Inference.Tests.Reference;

/// <summary>llama.cpp (through LLamaSharp's CPU backend) as a second reference: greedy decoding and logits.</summary>
internal static class LlamaCppReference
{
    /// <summary>Feeds <paramref name="prompt"/>, then appends the argmax token <paramref name="count"/> times.</summary>
    public static List<int> Greedy(string ggufPath, IReadOnlyList<int> prompt, int count)
    {
        var parameters = new ModelParams(ggufPath) { ContextSize = 512, GpuLayerCount = 0, Threads = 1, BatchSize = 512 };
        using var weights = LLamaWeights.LoadFromFile(parameters);
        using var context = weights.CreateContext(parameters);
        var batch = new LLamaBatch();
        for (var i = 0; i < prompt.Count; i++)
        {
            batch.Add((LLamaToken)prompt[i], i, LLamaSeqId.Zero, i == prompt.Count - 1);
        }

        var result = new List<int>();
        var position = prompt.Count;
        for (var step = 0; step < count; step++)
        {
            var status = context.Decode(batch);
            if (status != DecodeResult.Ok)
            {
                throw new InvalidOperationException($"llama_decode failed: {status}");
            }

            var logits = context.NativeHandle.GetLogitsIth(batch.TokenCount - 1);
            var next = 0;
            for (var i = 1; i < logits.Length; i++)
            {
                if (logits[i] > logits[next])
                {
                    next = i;
                }
            }

            result.Add(next);
            batch.Clear();
            batch.Add((LLamaToken)next, position++, LLamaSeqId.Zero, true);
        }

        return result;
    }
}
