using Mesh.Inference.Backends;
using Mesh.Inference.Backends.Cpu;
using Mesh.Inference.Models;
using Mesh.Inference.Models.Gguf;
using Mesh.Inference.Tests.Tokenization;

namespace Mesh.Inference.Tests.Backends;

/// <summary>
/// The CPU backend gives bit-identical logits for every thread count and whether its regions run on
/// its worker team or on the thread pool, on a model large enough that the matrix products, the
/// attention and the RMSNorms all go parallel (the stories260K tests stay mostly under the threshold).
/// </summary>
public sealed class CpuThreadCountTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("mesh-threads-").FullName;

    [Theory]
    [InlineData(GgmlType.F32)]
    [InlineData(GgmlType.Q8_0)]
    public void Logits_are_identical_for_every_thread_count_and_both_parallel_runtimes(GgmlType type)
    {
        using var model = LlamaModel.Load(Write(type));
        var serial = Logits(model, new BackendOptions { Threads = 1 });
        Assert.Contains(serial, v => v != 0);
        foreach (var options in new[]
        {
            new BackendOptions { Threads = 2 },
            new BackendOptions { Threads = 3 },
            new BackendOptions { Threads = 5 },
            new BackendOptions { Threads = 3, CpuParallelism = CpuParallelism.ThreadPool },
        })
        {
            var parallel = Logits(model, options);
            Assert.True(serial.AsSpan().SequenceEqual(parallel), $"{type}: {options.Threads} threads on {options.CpuParallelism} differ from one thread");
        }
    }

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private string Write(GgmlType type)
    {
        var vocabulary = TokenizerModelsFixture.FromGguf(TestModels.Stories260KGguf).Vocabulary;
        // 96 prompt rows of dim 256: each RMSNorm (96 × 256 × 3 multiply-add units) is over the parallel threshold.
        var config = new LlamaConfig(Dim: 256, HiddenDim: 512, Layers: 2, Heads: 8, KvHeads: 4, VocabSize: vocabulary.Pieces.Count, ContextLength: 128, NormEpsilon: 1e-5f, RopeTheta: 10000f);
        var path = Path.Combine(_folder, $"synthetic-{type}.gguf");
        SyntheticLlamaGguf.Write(path, config, vocabulary, type, seed: 7, tiedClassifier: false);
        return path;
    }

    /// <summary>Two sequences' 48-token prompts in one batch (logits for every token), then one decode step of both.</summary>
    private static float[] Logits(LlamaModel model, BackendOptions options)
    {
        var c = model.Config;
        using var backend = new CpuBackend(c, model.Weights, options with { KvBlockCount = 16 });
        var batch = new ForwardBatch();
        int[][] tables = [[0, 1, 2, 3], [4, 5, 6, 7]];
        for (var s = 0; s < 2; s++)
        {
            var seq = batch.AddSequence(tables[s]);
            for (var i = 0; i < 48; i++)
            {
                batch.AddToken(seq, 3 + ((i * 211 + s * 97) % (c.VocabSize - 3)), i, wantLogits: true);
            }
        }

        var prefill = new float[96 * c.VocabSize];
        backend.Forward(batch, prefill);
        batch.Clear();
        for (var s = 0; s < 2; s++)
        {
            batch.AddToken(batch.AddSequence(tables[s]), 5 + s, 48, wantLogits: true);
        }

        var decode = new float[2 * c.VocabSize];
        backend.Forward(batch, decode);
        return [.. prefill, .. decode];
    }
}
