using LLama;
using LLama.Common;
using LLama.Native;

namespace Mesh.Inference.Tests.Reference;

/// <summary>llama.cpp (through LLamaSharp's CPU backend) as a second reference: greedy decoding and logits.</summary>
internal static class LlamaCppReference
{
    /// <summary>Feeds <paramref name="prompt"/>, then appends the argmax token <paramref name="count"/> times.</summary>
    public static List<int> Greedy(string ggufPath, IReadOnlyList<int> prompt, int count) => Greedy(ggufPath, prompt, count, out _);

    /// <summary>
    /// Greedy decoding as above; <paramref name="smallestMargin"/> is the smallest gap between the best
    /// and the second-best logit over the steps, so a test can show its argmax is not a near-tie.
    /// </summary>
    public static List<int> Greedy(string ggufPath, IReadOnlyList<int> prompt, int count, out float smallestMargin)
    {
        smallestMargin = float.PositiveInfinity;
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

            var second = float.NegativeInfinity;
            for (var i = 0; i < logits.Length; i++)
            {
                if (i != next && logits[i] > second)
                {
                    second = logits[i];
                }
            }

            smallestMargin = Math.Min(smallestMargin, logits[next] - second);
            result.Add(next);
            batch.Clear();
            batch.Add((LLamaToken)next, position++, LLamaSeqId.Zero, true);
        }

        return result;
    }

    /// <summary>The negative log-likelihood (nats, summed) of <paramref name="tokens"/>[1..] given the tokens before each, from llama.cpp's logits.</summary>
    public static double Nll(string ggufPath, IReadOnlyList<int> tokens, string? loraPath = null) => -LogProbs(ggufPath, tokens, loraPath).Sum();

    /// <summary>
    /// log p(token[i + 1] | tokens[..i]) for every position, from llama.cpp's logits of one batch over
    /// the whole sequence (what Mesh's Score returns), computed in double precision.
    /// </summary>
    /// <remarks>With <paramref name="loraPath"/>, llama.cpp's GGUF LoRA adapter is applied at scale 1 (llama_set_adapter_lora).</remarks>
    public static double[] LogProbs(string ggufPath, IReadOnlyList<int> tokens, string? loraPath = null)
    {
        // An f32 KV cache and plain attention, as Mesh computes: llama.cpp's defaults (f16 cache,
        // flash attention) would add their own rounding to the comparison of the weights.
        var parameters = new ModelParams(ggufPath)
        {
            ContextSize = 512,
            GpuLayerCount = 0,
            Threads = 2,
            BatchSize = 512,
            TypeK = GGMLType.GGML_TYPE_F32,
            TypeV = GGMLType.GGML_TYPE_F32,
            FlashAttention = false,
        };
        using var weights = LLamaWeights.LoadFromFile(parameters);
        using var context = weights.CreateContext(parameters);
        if (loraPath is not null)
        {
            var adapter = weights.NativeHandle.LoadLoraFromFile(loraPath);
            context.NativeHandle.SetLoraAdapters([(adapter, 1f)]);
        }

        var batch = new LLamaBatch();
        for (var i = 0; i < tokens.Count; i++)
        {
            batch.Add((LLamaToken)tokens[i], i, LLamaSeqId.Zero, true);
        }

        var status = context.Decode(batch);
        if (status != DecodeResult.Ok)
        {
            throw new InvalidOperationException($"llama_decode failed: {status}");
        }

        var result = new double[tokens.Count - 1];
        for (var i = 0; i < result.Length; i++)
        {
            var logits = context.NativeHandle.GetLogitsIth(i);
            var max = double.NegativeInfinity;
            foreach (var l in logits)
            {
                max = Math.Max(max, l);
            }

            var sum = 0.0;
            foreach (var l in logits)
            {
                sum += Math.Exp(l - max);
            }

            result[i] = logits[tokens[i + 1]] - max - Math.Log(sum);
        }

        return result;
    }
}
