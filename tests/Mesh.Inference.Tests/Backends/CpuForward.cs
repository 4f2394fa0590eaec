using Mesh.Inference.Backends;
using Mesh.Inference.Backends.Cpu;
using Mesh.Inference.Models;

namespace Mesh.Inference.Tests.Backends;

/// <summary>
/// One sequence through a fresh CPU backend, the two ways the engine runs it: as one prompt batch, and
/// as a prompt batch followed by one decoded token. Parity tests compare the two, across thread counts.
/// </summary>
internal static class CpuForward
{
    /// <summary>Logits of every position of <paramref name="tokens"/> fed as one batch: tokens.Length × vocab floats.</summary>
    public static float[] Logits(LlamaModel model, int threads, int[] tokens)
    {
        using var backend = new CpuBackend(model.Config, model.Weights, new BackendOptions { KvBlockCount = 8, Threads = threads });
        var batch = new ForwardBatch();
        var seq = batch.AddSequence([0, 1, 2, 3]);
        for (var i = 0; i < tokens.Length; i++)
        {
            batch.AddToken(seq, tokens[i], i, wantLogits: true);
        }

        var logits = new float[tokens.Length * model.Config.VocabSize];
        backend.Forward(batch, logits);
        return logits;
    }

    /// <summary>The logits of the last token (vocab floats), decoded alone after the others went in as one prompt batch.</summary>
    public static float[] DecodeLast(LlamaModel model, int threads, int[] tokens)
    {
        using var backend = new CpuBackend(model.Config, model.Weights, new BackendOptions { KvBlockCount = 8, Threads = threads });
        var logits = new float[model.Config.VocabSize];
        var batch = new ForwardBatch();
        var seq = batch.AddSequence([0, 1, 2, 3]);
        for (var i = 0; i < tokens.Length - 1; i++)
        {
            batch.AddToken(seq, tokens[i], i, wantLogits: i == tokens.Length - 2);
        }

        backend.Forward(batch, logits);
        batch.Clear();
        seq = batch.AddSequence([0, 1, 2, 3]);
        batch.AddToken(seq, tokens[^1], tokens.Length - 1, wantLogits: true);
        backend.Forward(batch, logits);
        return logits;
    }
}
