using Mesh.Inference.Backends;
using Mesh.Inference.Backends.Cpu;
using Mesh.Inference.Models;
using Mesh.Inference.Models.Gguf;
using Mesh.Inference.Tests.Tokenization;

namespace Mesh.Inference.Tests;

/// <summary>
/// GGUF files with F16, BF16 and Q8_0 matrices give logits close to the same weights in F32. The
/// documented tolerances (relative RMS error of the logits): F16 1e-3, BF16 1e-2, Q8_0 3e-2.
/// </summary>
public sealed class WeightTypeTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("mesh-weights-").FullName;

    [Theory]
    [InlineData(GgmlType.F16, 1e-3)]
    [InlineData(GgmlType.BF16, 1e-2)]
    [InlineData(GgmlType.Q8_0, 3e-2)]
    public void LogitsStayWithinToleranceOfF32(GgmlType type, double tolerance)
    {
        var f32 = Logits(Write(GgmlType.F32));
        var other = Logits(Write(type));

        var error = Math.Sqrt(f32.Zip(other, (a, b) => (double)(a - b) * (a - b)).Sum() / f32.Length);
        var scale = Math.Sqrt(f32.Sum(a => (double)a * a) / f32.Length);
        Assert.True(error / scale < tolerance, $"{type}: relative RMS error {error / scale:E2} ≥ {tolerance:E0}");
        Assert.True(error > 0, "the quantized model gave bit-identical logits: was it really quantized?");
    }

    [Fact]
    public void TheLoaderReportsTheStoredType()
    {
        using var model = LlamaModel.Load(Write(GgmlType.Q8_0));
        Assert.Equal("Q8_0", model.WeightType);
        Assert.All(model.Weights.Matrices, m => Assert.Equal(GgmlType.Q8_0, m.Type));
    }

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private string Write(GgmlType type)
    {
        var vocabulary = TokenizerModelsFixture.FromGguf(TestModels.Stories260KGguf).Vocabulary;
        var config = new LlamaConfig(Dim: 64, HiddenDim: 128, Layers: 2, Heads: 4, KvHeads: 2, VocabSize: vocabulary.Pieces.Count, ContextLength: 64, NormEpsilon: 1e-5f, RopeTheta: 10000f);
        var path = Path.Combine(_folder, $"synthetic-{type}.gguf");
        SyntheticLlamaGguf.Write(path, config, vocabulary, type, seed: 42, tiedClassifier: false);
        return path;
    }

    private static float[] Logits(string path)
    {
        using var model = LlamaModel.Load(path);
        using var backend = new CpuBackend(model.Config, model.Weights, new BackendOptions { KvBlockCount = 8 });
        var batch = new ForwardBatch();
        var seq = batch.AddSequence([0, 1, 2, 3]);
        int[] tokens = [1, 403, 407, 261, 378, 432, 383, 286];
        for (var i = 0; i < tokens.Length; i++)
        {
            batch.AddToken(seq, tokens[i], i, wantLogits: true);
        }

        var logits = new float[tokens.Length * model.Config.VocabSize];
        backend.Forward(batch, logits);
        return logits;
    }
}
