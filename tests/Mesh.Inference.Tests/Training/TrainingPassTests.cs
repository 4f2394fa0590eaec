using Mesh.Inference.Models;
using Mesh.Inference.Models.Lora;
using Mesh.Inference.Tests.Tokenization;
using Mesh.Inference.Training;
using Xunit.Abstractions;

namespace Mesh.Inference.Tests.Training;

/// <summary>
/// Training's own forward and backward pass: its NLL is the serving engine's Score NLL (with and without
/// LoRA factors), and its gradients of every adapted projection's A and B, in every block, equal central
/// finite differences of the loss on a small random model with biases and grouped-query attention.
/// </summary>
public sealed class TrainingPassTests(ITestOutputHelper output)
{
    private static readonly int[] Text = [1, 80, 147, 201, 282, 57, 8, 3, 400, 512, 733, 1024, 1500, 2000, 17, 99, 250, 301, 1200, 42, 640, 900, 1800, 77, 5, 60, 700, 31];

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task TheTrainingForwardPassGivesTheEnginesScore(bool withFactors)
    {
        using var harness = new EngineHarness(TestModels.TinyStories656KGguf);
        var trainer = new LoraTrainer(harness.Model, new LoraTrainingOptions { Rank = 4, Alpha = 8, Seed = 3, Threads = 1 });
        if (withFactors)
        {
            Randomize(trainer, seed: 5, bScale: 1f);
        }

        var example = new TrainingExample(Text, [.. Text.Skip(1), -1]);
        var training = trainer.Evaluate([example]) * example.LossTokens;
        var adapter = trainer.ToAdapter("t");
        var engine = -(await harness.Engine.ScoreAsync(Text, adapter, CancellationToken.None)).Sum(l => (double)l);
        var baseNll = -(await harness.Engine.ScoreAsync(Text, CancellationToken.None)).Sum(l => (double)l);

        output.WriteLine($"training {training:F6}, engine {engine:F6}, base {baseNll:F6}");
        Assert.True(Math.Abs(training - engine) <= 1e-5 * engine, $"training {training:F6}, engine {engine:F6}");
        Assert.Equal(withFactors, Math.Abs(engine - baseNll) > 0.005 * baseNll);
    }

    [Fact]
    public void GradientsOfEveryFactorMatchFiniteDifferences()
    {
        var model = RandomModel(seed: 17);
        var trainer = new LoraTrainer(model, new LoraTrainingOptions { Rank = 3, Alpha = 6, Seed = 2, Threads = 2, BatchSize = 2 });
        Randomize(trainer, seed: 9, bScale: 0.5f);
        var random = new Random(4);
        TrainingExample Example(int n)
        {
            var tokens = Enumerable.Range(0, n).Select(_ => random.Next(model.Config.VocabSize)).ToArray();
            return new TrainingExample(tokens, [.. tokens.Skip(1).Select((t, i) => i >= n / 3 ? t : -1), -1]);
        }

        TrainingExample[] batch = [Example(13), Example(9), Example(11)];
        trainer.Gradient(batch);
        var gradient = trainer.LastGradient;
        const float eps = 1e-2f;
        var checkedCount = 0;
        foreach (var slot in trainer.Lora.Slots)
        {
            foreach (var (parameters, g, which) in new[] { (slot.A, gradient.A[slot.Index], "A"), (slot.B, gradient.B[slot.Index], "B") })
            {
                var direction = parameters.Select(_ => (random.NextSingle() * 2) - 1).ToArray();
                var analytic = g.Zip(direction, (a, b) => (double)a * b).Sum();
                var saved = (float[])parameters.Clone();
                Shift(parameters, saved, direction, eps);
                var plus = trainer.Evaluate(batch);
                Shift(parameters, saved, direction, -eps);
                var minus = trainer.Evaluate(batch);
                saved.CopyTo(parameters, 0);
                var numeric = (plus - minus) / (2 * eps);

                output.WriteLine($"block {slot.Layer} {slot.Target} {which}: analytic {analytic:E4}, numeric {numeric:E4}");
                Assert.True(Math.Abs(analytic) > 1e-4, $"block {slot.Layer} {slot.Target} {which}: the gradient should not vanish ({analytic:E3})");
                Assert.True(Math.Abs(analytic - numeric) <= (2e-2 * Math.Abs(analytic)) + 2e-4, $"block {slot.Layer} {slot.Target} {which}: analytic {analytic:E4}, numeric {numeric:E4}");
                checkedCount++;
            }
        }

        Assert.Equal(2 * 2 * 7, checkedCount);
    }

    /// <summary>Random B factors (training starts them at zero, which leaves A without gradient).</summary>
    internal static void Randomize(LoraTrainer trainer, int seed, float bScale)
    {
        var random = new Random(seed);
        foreach (var slot in trainer.Lora.Slots)
        {
            for (var i = 0; i < slot.B.Length; i++)
            {
                slot.B[i] = ((random.NextSingle() * 2) - 1) * bScale / MathF.Sqrt(slot.Rank);
            }
        }
    }

    private static void Shift(float[] parameters, float[] saved, float[] direction, float eps)
    {
        for (var i = 0; i < parameters.Length; i++)
        {
            parameters[i] = saved[i] + (eps * direction[i]);
        }
    }

    /// <summary>dim 16, 4 heads over 2 KV heads, hidden 24, 2 blocks, vocab 40, untied classifier, Q/K/V/O biases.</summary>
    internal static FrozenLlama RandomModel(int seed)
    {
        var config = new LlamaConfig(Dim: 16, HiddenDim: 24, Layers: 2, Heads: 4, KvHeads: 2, VocabSize: 40, ContextLength: 32, NormEpsilon: 1e-5f, RopeTheta: 10000f);
        var random = new Random(seed);
        float[] Fill(int count, float scale, float offset = 0) => [.. Enumerable.Range(0, count).Select(_ => offset + (((random.NextSingle() * 2) - 1) * scale))];
        float[] Matrix(int rows, int cols) => Fill(rows * cols, 1.5f / MathF.Sqrt(cols));
        var layers = Enumerable.Range(0, config.Layers).Select(_ => new FrozenLayer(
            Fill(config.Dim, 0.3f, 1f), Matrix(config.QueryDim, config.Dim), Matrix(config.KvDim, config.Dim), Matrix(config.KvDim, config.Dim), Matrix(config.Dim, config.QueryDim),
            Fill(config.Dim, 0.3f, 1f), Matrix(config.HiddenDim, config.Dim), Matrix(config.HiddenDim, config.Dim), Matrix(config.Dim, config.HiddenDim),
            Fill(config.QueryDim, 0.2f), Fill(config.KvDim, 0.2f), Fill(config.KvDim, 0.2f), Fill(config.Dim, 0.2f))).ToArray();
        return new FrozenLlama(config, Fill(config.VocabSize * config.Dim, 1f), layers, Fill(config.Dim, 0.3f, 1f), Matrix(config.VocabSize, config.Dim));
    }
}
