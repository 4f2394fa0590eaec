using LLama.Native;
using Mesh.Inference.Backends;
using Mesh.Inference.Backends.Cpu;
using Mesh.Inference.Models;

namespace Mesh.Inference.Tests.Quantization;

/// <summary>
/// A whole forward pass over a file llama.cpp quantized gives the same logits, bit for bit, on every
/// kernel path the CPU backend can take (prefill tiles or eight-row passes, VNNI or AVX2, fused decode
/// or the unpack path): a CPU without AVX-512 or AVX-VNNI must answer as this one does. The kernel tests
/// hold each path on synthetic matrices; this holds them on real quantized weights, every matrix of a
/// model, prompt and decode steps.
/// </summary>
[Collection(SerialCollection.Name)]
public sealed class QuantizedKernelPathTests(QuantizedModelsFixture files) : IClassFixture<QuantizedModelsFixture>
{
    private static readonly int[] Tokens = [1, 80, 147, 201, 282, 57, 8, 3, 400, 12, 99, 250, 301, 17, 42, 64, 77];

    [Theory]
    [InlineData(LLamaFtype.MOSTLY_Q8_0)]
    [InlineData(LLamaFtype.MOSTLY_Q4_0)]
    public void EveryKernelPathGivesTheSameLogits(LLamaFtype fileType)
    {
        using var model = LlamaModel.Load(files.Get(fileType));
        var expected = Logits(model, (true, true, true));
        foreach (var path in new[] { (false, true, true), (false, true, false), (false, false, false), (true, false, false) })
        {
            var actual = Logits(model, path);
            for (var i = 0; i < expected.Length; i++)
            {
                Assert.True(
                    BitConverter.SingleToInt32Bits(expected[i]) == BitConverter.SingleToInt32Bits(actual[i]),
                    $"{fileType}, path (tiles, fused, VNNI) {path}: logit {i % model.Config.VocabSize} of output {i / model.Config.VocabSize} is {actual[i]:R}, default path {expected[i]:R}");
            }
        }
    }

    /// <summary>
    /// The logits of a 15-token prompt batch, then of two tokens decoded one at a time, at two threads,
    /// with the kernel switches set to <paramref name="path"/>.
    /// </summary>
    private static float[] Logits(LlamaModel model, (bool Tiles, bool Fused, bool Vnni) path)
    {
        var before = (CpuQuantMatMul.PrefillTiles, CpuQuantMatMul.FusedDecode, CpuQuantMatMul.Vnni);
        (CpuQuantMatMul.PrefillTiles, CpuQuantMatMul.FusedDecode, CpuQuantMatMul.Vnni) = path;
        try
        {
            var vocab = model.Config.VocabSize;
            using var backend = new CpuBackend(model.Config, model.Weights, new BackendOptions { KvBlockCount = 8, Threads = 2 });
            var logits = new float[(Tokens.Length - 2 + 2) * vocab];
            var batch = new ForwardBatch();
            var seq = batch.AddSequence([0, 1, 2, 3]);
            for (var i = 0; i < Tokens.Length - 2; i++)
            {
                batch.AddToken(seq, Tokens[i], i, wantLogits: true);
            }

            backend.Forward(batch, logits);
            for (var i = Tokens.Length - 2; i < Tokens.Length; i++)
            {
                batch.Clear();
                seq = batch.AddSequence([0, 1, 2, 3]);
                batch.AddToken(seq, Tokens[i], i, wantLogits: true);
                backend.Forward(batch, logits.AsSpan(i * vocab, vocab));
            }

            return logits;
        }
        finally
        {
            (CpuQuantMatMul.PrefillTiles, CpuQuantMatMul.FusedDecode, CpuQuantMatMul.Vnni) = before;
        }
    }
}
