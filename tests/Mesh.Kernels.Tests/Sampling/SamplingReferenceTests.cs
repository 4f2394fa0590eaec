using Mesh.Kernels.Sampling;

namespace Mesh.Kernels.Tests.Sampling;

public class SamplingReferenceTests
{
    private static float[] RandomLogits(int n, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, n).Select(_ => (float)(random.NextDouble() * 8 - 4)).ToArray();
    }

    [Fact]
    public void Zero_temperature_is_argmax_with_the_lowest_index_on_ties()
    {
        float[] logits = [0.5f, 3f, -1f, 3f, 2f];
        Assert.Equal(1, SamplingReference.Sample(logits, SamplingRow.Greedy));
    }

    [Fact]
    public void Top_k_of_one_always_picks_the_best_token_whatever_the_seed()
    {
        var logits = RandomLogits(1000, 1);
        var best = Array.IndexOf(logits, logits.Max());
        for (uint step = 0; step < 50; step++)
        {
            Assert.Equal(best, SamplingReference.Sample(logits, new SamplingRow(1.5f, 1, 1f, 0f, 99, step)));
        }
    }

    [Fact]
    public void Top_k_draws_only_from_the_k_largest_logits()
    {
        var logits = RandomLogits(500, 2);
        var top = logits.Select((x, i) => (x, i)).OrderByDescending(p => p.x).Take(5).Select(p => p.i).ToHashSet();
        var drawn = Enumerable.Range(0, 300).Select(s => SamplingReference.Sample(logits, new SamplingRow(5f, 5, 1f, 0f, 7, (uint)s))).ToHashSet();
        Assert.Subset(top, drawn);
        Assert.True(drawn.Count >= 4, "at high temperature most of the top 5 should be drawn");
    }

    [Fact]
    public void Min_p_drops_tokens_below_the_fraction_of_the_best()
    {
        // probabilities ∝ e^x: 1, e^-1 ≈ 0.37, e^-3 ≈ 0.05 relative to the best
        float[] logits = [0f, -1f, -3f];
        var drawn = Enumerable.Range(0, 400).Select(s => SamplingReference.Sample(logits, new SamplingRow(1f, 0, 1f, 0.1f, 3, (uint)s))).ToHashSet();
        Assert.Equal([0, 1], drawn.Order());
    }

    [Fact]
    public void Top_p_keeps_the_fewest_best_tokens_reaching_the_mass()
    {
        // softmax of ln(0.5), ln(0.3), ln(0.15), ln(0.05) = 0.5, 0.3, 0.15, 0.05: top_p 0.75 needs the first two.
        float[] logits = [MathF.Log(0.5f), MathF.Log(0.3f), MathF.Log(0.15f), MathF.Log(0.05f)];
        var drawn = Enumerable.Range(0, 400).Select(s => SamplingReference.Sample(logits, new SamplingRow(1f, 0, 0.75f, 0f, 5, (uint)s))).ToHashSet();
        Assert.Equal([0, 1], drawn.Order());
    }

    [Fact]
    public void Draw_frequencies_follow_the_softmax()
    {
        float[] logits = [MathF.Log(0.6f), MathF.Log(0.3f), MathF.Log(0.1f)];
        var counts = new int[3];
        const int draws = 6000;
        for (var s = 0; s < draws; s++)
        {
            counts[SamplingReference.Sample(logits, new SamplingRow(1f, 0, 1f, 0f, 11, (uint)s))]++;
        }
        // ±5 standard deviations of a binomial: a broken draw fails, a fair one passes for any seed.
        Assert.InRange(counts[0], 3600 - 190, 3600 + 190);
        Assert.InRange(counts[1], 1800 - 180, 1800 + 180);
        Assert.InRange(counts[2], 600 - 120, 600 + 120);
    }

    [Fact]
    public void The_same_seed_and_step_give_the_same_token()
    {
        var logits = RandomLogits(32000, 3);
        var row = new SamplingRow(0.8f, 40, 0.95f, 0.05f, 123456789, 17);
        Assert.Equal(SamplingReference.Sample(logits, row), SamplingReference.Sample(logits, row));
    }

    [Fact]
    public void Keys_order_like_the_floats()
    {
        float[] ordered = [float.NegativeInfinity, -3e38f, -1f, -1e-30f, -0f, 0f, 1e-30f, 1f, 3e38f, float.PositiveInfinity];
        for (var i = 1; i < ordered.Length; i++)
        {
            Assert.True(SamplingReference.Key(ordered[i - 1]) <= SamplingReference.Key(ordered[i]), $"{ordered[i - 1]} vs {ordered[i]}");
        }
    }
}

public class SamplingReferenceMatchesTheCpuSamplerTests
{
    [Fact]
    public void Every_draw_equals_the_Inference_CPU_samplers_for_the_same_seed_and_step()
    {
        var random = new Random(2024);
        for (var trial = 0; trial < 300; trial++)
        {
            var vocab = random.Next(2, 600);
            var logits = Enumerable.Range(0, vocab).Select(_ => (float)(random.NextDouble() * 12 - 6)).ToArray();
            var parameters = new Mesh.Inference.Sampling.SamplingParameters
            {
                Temperature = trial % 10 == 0 ? 0f : (float)(0.2 + random.NextDouble() * 1.5),
                TopK = trial % 3 == 0 ? 0 : random.Next(1, vocab + 2),
                TopP = trial % 4 == 0 ? 1f : (float)(0.05 + random.NextDouble() * 0.95),
                MinP = trial % 5 == 0 ? 0f : (float)(random.NextDouble() * 0.3),
                Seed = (ulong)random.NextInt64(),
            };
            var step = (uint)random.Next(0, 1000);
            var cpu = new Mesh.Inference.Sampling.Sampler(parameters).Sample(logits, [], step);

            var row = new SamplingRow(parameters.Temperature, (uint)parameters.TopK, parameters.TopP, parameters.MinP, parameters.Seed, step);
            Assert.True(cpu == SamplingReference.Sample(logits, row), $"trial {trial}: {parameters} step {step}");
        }
    }
}

public class SamplingReferenceMatchesTheCpuSamplerOnLargeRowsTests
{
    /// <summary>
    /// Rows the size of real vocabularies, with many equal logits (so the tie rules decide), masked −∞
    /// logits (structured output) and temperature-only sampling (every token survives, so the draw
    /// walks the whole descending order): the CPU sampler, which sorts only the leading bands of a
    /// row, draws what the reference's full sort draws.
    /// </summary>
    [Theory]
    [InlineData(32000, false, false)]
    [InlineData(32000, true, false)]
    [InlineData(32000, false, true)]
    [InlineData(5000, true, true)]
    public void Every_draw_equals_the_references_on_vocabulary_sized_rows(int vocab, bool ties, bool masked)
    {
        var random = new Random(vocab + (ties ? 1 : 0) + (masked ? 2 : 0));
        for (var trial = 0; trial < 40; trial++)
        {
            var spread = 2 + (random.NextDouble() * 20);
            var logits = Enumerable.Range(0, vocab).Select(_ =>
            {
                var value = (float)((random.NextDouble() * spread) - (spread / 2));
                if (ties)
                {
                    value = MathF.Round(value * 4) / 4; // a few dozen distinct values
                }

                return masked && random.Next(3) == 0 ? float.NegativeInfinity : value;
            }).ToArray();
            var parameters = new Mesh.Inference.Sampling.SamplingParameters
            {
                Temperature = (float)(0.3 + (random.NextDouble() * 1.5)),
                TopK = trial % 4 == 0 ? 0 : random.Next(1, 200),
                TopP = trial % 3 == 0 ? 1f : (float)(0.5 + (random.NextDouble() * 0.5)),
                MinP = trial % 5 == 0 ? (float)(random.NextDouble() * 0.2) : 0f,
                Seed = (ulong)random.NextInt64(),
            };
            if (trial % 8 == 0)
            {
                parameters = parameters with { TopK = 0, TopP = 1f, MinP = 0f };
            }

            var step = (uint)random.Next(0, 1000);
            var cpu = new Mesh.Inference.Sampling.Sampler(parameters).Sample(logits, [], step);
            var row = new SamplingRow(parameters.Temperature, (uint)parameters.TopK, parameters.TopP, parameters.MinP, parameters.Seed, step);
            Assert.True(cpu == SamplingReference.Sample(logits, row), $"trial {trial}: {parameters} step {step}");
        }
    }
}
