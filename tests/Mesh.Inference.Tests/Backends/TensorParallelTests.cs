using Mesh.Inference.Backends;
using Mesh.Inference.Backends.Cpu;
using Mesh.Inference.Backends.TensorParallel;
using Mesh.Inference.Models;
using Mesh.Inference.Tests.Tokenization;

namespace Mesh.Inference.Tests.Backends;

/// <summary>
/// The tensor-parallel layout, run on N simulated devices (each with only its shards and kv heads,
/// meeting only at the all-reduces and the logits all-gather), must give the logits of the
/// single-device CPU backend for the same prompt.
/// </summary>
public sealed class TensorParallelTests
{
    public static TheoryData<string, int> Cases => new()
    {
        { TestModels.Stories260KGguf, 2 },
        { TestModels.Stories260KGguf, 4 },
        { TestModels.TinyStories656KGguf, 2 },
        { TestModels.TinyStories656KGguf, 4 },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Tensor_parallel_logits_equal_the_single_device_logits(string modelPath, int devices)
    {
        using var model = LlamaModel.Load(modelPath);
        var c = model.Config;
        var prompt = model.Tokenizer.Encode("Once upon a time, a little girl named Lily", addBos: true);

        var simulated = new TensorParallelSimulation(new TensorParallelLayout(c, devices), model.Weights).Logits(prompt);

        using var backend = new CpuBackend(c, model.Weights, new BackendOptions { Threads = 1, KvBlockCount = 8 });
        var batch = new ForwardBatch();
        var seq = batch.AddSequence(Enumerable.Range(0, (prompt.Length + 15) / 16).ToArray());
        for (var i = 0; i < prompt.Length; i++)
        {
            batch.AddToken(seq, prompt[i], i, wantLogits: true);
        }
        var single = new float[prompt.Length * c.VocabSize];
        backend.Forward(batch, single);

        for (var t = 0; t < prompt.Length; t++)
        {
            var expected = single.AsSpan(t * c.VocabSize, c.VocabSize);
            var actual = simulated.AsSpan(t * c.VocabSize, c.VocabSize);
            var range = Math.Max(1f, expected.ToArray().Select(Math.Abs).Max());
            for (var v = 0; v < c.VocabSize; v++)
            {
                Assert.True(Math.Abs(expected[v] - actual[v]) <= 2e-3 * range,
                    $"{Path.GetFileName(modelPath)} over {devices} devices, position {t}, token {v}: single device {expected[v]}, tensor parallel {actual[v]}");
            }
            Assert.Equal(expected.IndexOf(expected.ToArray().Max()), actual.IndexOf(actual.ToArray().Max()));
        }
    }

    [Fact]
    public void A_device_count_that_does_not_divide_the_heads_is_refused_naming_the_dimension()
    {
        using var model = LlamaModel.Load(TestModels.Stories260KGguf);
        var error = Assert.Throws<ArgumentException>(() => new TensorParallelLayout(model.Config, 3));
        Assert.Contains("does not split over 3 devices", error.Message);
    }

    [Fact]
    public void The_layout_gives_each_device_disjoint_shards_that_cover_every_head_and_hidden_unit()
    {
        using var model = LlamaModel.Load(TestModels.Stories260KGguf);
        var c = model.Config;
        var layout = new TensorParallelLayout(c, 2);
        var query = Enumerable.Range(0, 2).SelectMany(d => Enumerable.Range(layout.QueryRows(d).Start.Value, layout.QueryRows(d).End.Value - layout.QueryRows(d).Start.Value)).ToArray();
        Assert.Equal(Enumerable.Range(0, c.Heads * c.HeadDim), query);
        Assert.Equal(c.HiddenDim, layout.HiddenRows(1).End.Value);
        Assert.Equal(layout.KvRows(0).End, layout.KvRows(1).Start);
    }
}
