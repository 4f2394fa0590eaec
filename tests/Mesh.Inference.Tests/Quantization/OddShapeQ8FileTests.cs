using LLama;
using LLama.Native;
using Mesh.Inference.Backends;
using Mesh.Inference.Backends.Cpu;
using Mesh.Inference.Models;
using Mesh.Inference.Models.Gguf;
using Mesh.Inference.Tests.Backends;
using Mesh.Inference.Tests.Reference;
using Mesh.Inference.Tests.Tokenization;
using Xunit.Abstractions;

namespace Mesh.Inference.Tests.Quantization;

/// <summary>
/// A Q8_0 file llama.cpp writes for a model whose K and V projections have 24 rows (a sixteen-row
/// tile plus eight spare lanes, and a fused Q/K/V product of 144 rows that the thread split cuts
/// inside groups) and three 32-value blocks per row: Mesh's Score NLL equals llama.cpp's, and a token's
/// logits are the same decoded alone as inside the prompt batch, at 1, 2 and 3 threads. The shared
/// quantized files have only multiple-of-sixteen row counts, so no real model reached the short groups.
/// </summary>
public sealed class OddShapeQ8FileTests(ITestOutputHelper output) : IDisposable
{
    private static readonly int[] Tokens = [1, .. Enumerable.Range(1, 40).Select(i => 3 + (i * 211 % 509))];

    private readonly string _folder = Directory.CreateTempSubdirectory("mesh-odd-q8-").FullName;

    [Fact]
    public async Task AnOddShapedQ8FileScoresAsLlamaCppAndDecodesAsItBatches()
    {
        var vocabulary = TokenizerModelsFixture.FromGguf(TestModels.Stories260KGguf).Vocabulary;
        // Head dimension 8: twelve query heads fill the 96-wide model, three KV heads give 24 rows.
        var config = new LlamaConfig(Dim: 96, HiddenDim: 224, Layers: 2, Heads: 12, KvHeads: 3, VocabSize: vocabulary.Pieces.Count, ContextLength: 128, NormEpsilon: 1e-5f, RopeTheta: 10000f);
        var f32 = Path.Combine(_folder, "odd-F32.gguf");
        SyntheticLlamaGguf.Write(f32, config, vocabulary, GgmlType.F32, seed: 11, tiedClassifier: false, classifierGain: 6f);
        var q8 = Path.Combine(_folder, "odd-Q8_0.gguf");
        NativeApi.llama_empty_call();
        Assert.True(LLamaQuantizer.Quantize(f32, q8, LLamaFtype.MOSTLY_Q8_0, nthread: 2, allowRequantize: true, quantizeOutputTensor: true), "llama.cpp failed to quantize");

        using (var harness = new EngineHarness(q8))
        {
            Assert.Contains(harness.Model.Weights.Matrices, m => m.Type == GgmlType.Q8_0 && m.Rows == 24);
            var ours = (await harness.Engine.ScoreAsync(Tokens, CancellationToken.None)).Sum(l => (double)l);
            var theirs = LlamaCppReference.LogProbs(q8, Tokens).Sum();
            var relative = Math.Abs(ours - theirs) / -theirs;
            output.WriteLine($"NLL Mesh {-ours:F5}, llama.cpp {-theirs:F5}, relative {relative:E2}");
            Assert.True(relative < 1e-3, $"Mesh NLL {-ours:F5}, llama.cpp {-theirs:F5}: relative difference {relative:E2}");
        }

        using var model = LlamaModel.Load(q8);
        var vocab = config.VocabSize;
        var prompt = Tokens[..19];
        var batched = CpuForward.Logits(model, 1, prompt);
        foreach (var threads in new[] { 1, 2, 3 })
        {
            Assert.Equal(batched, CpuForward.Logits(model, threads, prompt));
            Assert.Equal(batched.AsSpan(18 * vocab, vocab).ToArray(), CpuForward.DecodeLast(model, threads, prompt));
        }
    }

    public void Dispose() => Directory.Delete(_folder, recursive: true);
}
