using Mesh.Inference.Backends;
using Mesh.Inference.Engine;
using Mesh.Inference.Sampling;
using Mesh.Inference.Tests.Tokenization;

namespace Mesh.Inference.Tests;

public sealed class SamplingTests
{
    private static readonly SamplingParameters Creative = new() { Temperature = 0.9f, TopP = 0.95f, TopK = 40, MinP = 0.02f, RepetitionPenalty = 1.1f, Seed = 1234 };

    [Fact]
    public async Task SeededSamplingIsReproducibleAcrossRunsAndThreadCounts()
    {
        var runs = new List<List<int>>();
        foreach (var threads in new[] { 1, 2, 1, 3 })
        {
            using var harness = new EngineHarness(TestModels.Stories260KGguf, backend: new BackendOptions { Threads = threads });
            var prompt = harness.Model.Tokenizer.Encode("The cat", addBos: true);
            var (tokens, _, _) = await harness.RunAsync(new GenerationRequest(prompt, 120, Creative, [], IgnoreEos: true));
            runs.Add(tokens);
        }

        Assert.All(runs, r => Assert.Equal(runs[0], r));
    }

    [Fact]
    public async Task DifferentSeedsGiveDifferentStories()
    {
        using var harness = new EngineHarness(TestModels.Stories260KGguf);
        var prompt = harness.Model.Tokenizer.Encode("The cat", addBos: true);
        var a = await harness.RunAsync(new GenerationRequest(prompt, 60, Creative, [], IgnoreEos: true));
        var b = await harness.RunAsync(new GenerationRequest(prompt, 60, Creative with { Seed = 99 }, [], IgnoreEos: true));
        Assert.NotEqual(a.Tokens, b.Tokens);
    }

    [Fact]
    public void TopKOfOneIsGreedyAndMinPKeepsOnlyLikelyTokens()
    {
        var logits = new float[] { 0.1f, 3f, 2.9f, -5f, 1f };
        var topOne = new Sampler(new SamplingParameters { Temperature = 1.5f, TopK = 1, Seed = 7 });
        for (var draw = 0UL; draw < 50; draw++)
        {
            Assert.Equal(1, topOne.Sample(logits, [], draw));
        }

        // min_p 0.5: only tokens with p ≥ 0.5·p_max survive: ids 1 and 2 (e^-0.1 ≈ 0.9), not 4 (e^-2 ≈ 0.14).
        var minP = new Sampler(new SamplingParameters { Temperature = 1f, MinP = 0.5f, Seed = 7 });
        var seen = Enumerable.Range(0, 400).Select(d => minP.Sample(logits, [], (ulong)d)).ToHashSet();
        Assert.Equal([1, 2], seen.Order());
    }

    [Fact]
    public void RepetitionPenaltyStopsAGreedyRepeat()
    {
        var logits = new float[] { 1f, 2f, 1.9f };
        var plain = new Sampler(SamplingParameters.Greedy);
        var penalized = new Sampler(SamplingParameters.Greedy with { RepetitionPenalty = 1.2f });
        Assert.Equal(1, plain.Sample(logits, [1, 1], 0));
        Assert.Equal(2, penalized.Sample(logits, [1, 1], 0));
    }

    [Theory]
    [InlineData(new[] { "Hel", "lo wor", "ld, sto", "p here" }, new[] { "stop" }, "Hello world, ")]
    [InlineData(new[] { "a", "b", "c" }, new[] { "bd" }, "abc")]
    [InlineData(new[] { "x\n", "\nEND" }, new[] { "\n\n" }, "x")]
    public void StopSequencesSpanningTokensAreCutAndNeverEmitted(string[] pieces, string[] stops, string expected)
    {
        var matcher = new StopSequenceMatcher(stops);
        var emitted = string.Concat(pieces.Select(matcher.Append)) + matcher.Flush();
        Assert.Equal(expected, emitted);
    }
}
