using System.Diagnostics;
using LLama;
using LLama.Common;
using LLama.Native;

namespace Mesh.Inference.Bench;

/// <summary>llama.cpp through LLamaSharp's CPU backend, driven the same way as <see cref="MeshSubject"/>.</summary>
internal sealed class LlamaCppSubject : ISpeedSubject
{
    private readonly LLamaWeights _weights;
    private readonly ModelParams _parameters;

    public LlamaCppSubject(string path, int threads, int context)
    {
        LlamaCppNative.EnsureLoaded();
        _parameters = new ModelParams(path)
        {
            ContextSize = (uint)context,
            BatchSize = (uint)context,
            UBatchSize = (uint)context,
            GpuLayerCount = 0,
            Threads = threads,
            BatchThreads = threads,
        };
        _weights = LLamaWeights.LoadFromFile(_parameters);
    }

    public SpeedRun Run(IReadOnlyList<int> prompt, int decode)
    {
        using var context = _weights.CreateContext(_parameters);
        var batch = new LLamaBatch();
        for (var i = 0; i < prompt.Count; i++)
        {
            batch.Add((LLamaToken)prompt[i], i, LLamaSeqId.Zero, i == prompt.Count - 1);
        }

        var clock = Stopwatch.StartNew();
        Decode(context, batch);
        var prefill = clock.Elapsed.TotalSeconds;
        var tokens = new List<int>();
        clock.Restart();
        for (var step = 0; step < decode; step++)
        {
            var logits = context.NativeHandle.GetLogitsIth(batch.TokenCount - 1);
            var next = 0;
            for (var i = 1; i < logits.Length; i++)
            {
                if (logits[i] > logits[next])
                {
                    next = i;
                }
            }

            tokens.Add(next);
            batch.Clear();
            batch.Add((LLamaToken)next, prompt.Count + step, LLamaSeqId.Zero, true);
            Decode(context, batch);
        }

        var decodeSeconds = clock.Elapsed.TotalSeconds;
        return new SpeedRun(prompt.Count / prefill, decode / decodeSeconds, tokens);
    }

    public void Dispose() => _weights.Dispose();

    private static void Decode(LLamaContext context, LLamaBatch batch)
    {
        var status = context.Decode(batch);
        if (status != DecodeResult.Ok)
        {
            throw new InvalidOperationException($"llama_decode failed: {status}");
        }
    }
}
