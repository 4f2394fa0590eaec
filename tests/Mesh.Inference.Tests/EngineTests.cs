using Mesh.Inference.Backends;
using Mesh.Inference.Engine;
using Mesh.Inference.Sampling;
using Mesh.Inference.Tests.Tokenization;

namespace Mesh.Inference.Tests;

/// <summary>The scheduler: continuous batching, paged KV cache, prefix caching and preemption.</summary>
public sealed class EngineTests
{
    private static readonly string[] Prompts =
    [
        "Once upon a time",
        "The little dog",
        "Lily and Ben went to the park. They",
        "One day, a big red ball",
        "Tom was sad because",
        "The sun was shining and the birds",
    ];

    [Fact]
    public async Task RequestsBatchedTogetherGiveExactlyTheirAloneOutputs()
    {
        var alone = new List<List<int>>();
        using (var single = new EngineHarness(TestModels.Stories260KGguf, new EngineOptions { MaxRunningSequences = 1 }))
        {
            foreach (var p in Prompts)
            {
                alone.Add((await single.RunAsync(Request(single, p, 80))).Tokens);
            }
        }

        using var batched = new EngineHarness(TestModels.Stories260KGguf, new EngineOptions { MaxRunningSequences = 16, MaxBatchedTokens = 64 });
        var together = await Task.WhenAll(Prompts.Select(p => batched.RunAsync(Request(batched, p, 80))));

        for (var i = 0; i < Prompts.Length; i++)
        {
            Assert.Equal(alone[i], together[i].Tokens);
        }

        var stats = batched.Engine.Statistics;
        Assert.True(stats.MaxBatchTokens >= Prompts.Length, $"the requests never shared a step (largest batch {stats.MaxBatchTokens})");
        Assert.True(stats.Steps < Prompts.Length * 80, $"{stats.Steps} steps for {Prompts.Length} × 80 tokens: no batching happened");
    }

    /// <summary>
    /// With a 32k vocabulary a step's rows are sampled on the backend's worker team (each sequence
    /// its own sampler and row); seeded top-p draws with logprobs must still be exactly each
    /// request's alone, where one row is sampled on the engine thread.
    /// </summary>
    [Fact]
    public async Task SeededSamplesDrawnOnTheWorkersOfABatchedStepAreTheirAloneTokens()
    {
        GenerationRequest Sampled(EngineHarness harness, string prompt, int seed) => new(
            harness.Model.Tokenizer.Encode(prompt, addBos: true), 24,
            new SamplingParameters { Temperature = 0.9f, TopP = 0.9f, Seed = (ulong)seed }, [], IgnoreEos: true, TopLogprobs: 2);

        var alone = new List<List<int>>();
        using (var single = new EngineHarness(TestModels.TinyRandomGguf, new EngineOptions { MaxRunningSequences = 1 }, new BackendOptions { Threads = 2 }))
        {
            for (var i = 0; i < Prompts.Length; i++)
            {
                alone.Add((await single.RunAsync(Sampled(single, Prompts[i], i))).Tokens);
            }
        }

        using var batched = new EngineHarness(TestModels.TinyRandomGguf, new EngineOptions { MaxRunningSequences = 16 }, new BackendOptions { Threads = 2 });
        var together = await Task.WhenAll(Prompts.Select((p, i) => batched.RunAsync(Sampled(batched, p, i))));
        for (var i = 0; i < Prompts.Length; i++)
        {
            Assert.Equal(alone[i], together[i].Tokens);
        }

        Assert.True(batched.Engine.Statistics.MaxBatchTokens >= Prompts.Length, "the requests never shared a step");
        Assert.True(alone.Select(a => string.Join(",", a)).Distinct().Count() > 1, "different seeds must give different tokens, or the comparison says little");
    }

    [Fact]
    public async Task ARepeatedSystemPromptIsServedFromThePrefixCache()
    {
        using var harness = new EngineHarness(TestModels.Stories260KGguf);
        var system = "You are a helpful assistant for a toy shop. Answer kindly and briefly. Once upon a time, there was a little girl named Lily who loved toys.";
        var first = Request(harness, system + " Question one:", 4);
        var computedBefore = harness.Engine.Statistics.PromptTokensComputed;
        var a = await harness.RunAsync(first);
        var computedFirst = harness.Engine.Statistics.PromptTokensComputed - computedBefore;

        var second = Request(harness, system + " Another question:", 4);
        var b = await harness.RunAsync(second);
        var computedSecond = harness.Engine.Statistics.PromptTokensComputed - computedBefore - computedFirst;

        var blockSize = harness.Backend.KvGeometry.BlockSize;
        Assert.Equal(0, a.Last.Usage!.CachedPromptTokens);
        Assert.True(b.Last.Usage!.CachedPromptTokens >= blockSize * 2, $"only {b.Last.Usage.CachedPromptTokens} prompt tokens came from the cache");
        Assert.Equal(second.PromptTokens.Length - b.Last.Usage.CachedPromptTokens, computedSecond);
        Assert.Equal(first.PromptTokens.Length, computedFirst);

        // The cached prefix must not change the answer.
        using var cold = new EngineHarness(TestModels.Stories260KGguf, new EngineOptions { EnablePrefixCaching = false });
        Assert.Equal((await cold.RunAsync(second)).Tokens, b.Tokens);
    }

    [Fact]
    public async Task PreemptionUnderATinyKvBudgetStillCompletesEveryRequestCorrectly()
    {
        var alone = new List<List<int>>();
        using (var single = new EngineHarness(TestModels.Stories260KGguf, new EngineOptions { MaxRunningSequences = 1 }))
        {
            foreach (var p in Prompts)
            {
                alone.Add((await single.RunAsync(Request(single, p, 60))).Tokens);
            }
        }

        // 8 blocks of 16 tokens = 128 slots for six sequences of ~70 tokens each.
        using var tiny = new EngineHarness(TestModels.Stories260KGguf, new EngineOptions { MaxRunningSequences = 6 }, new BackendOptions { KvBlockCount = 8 });
        var results = await Task.WhenAll(Prompts.Select(p => tiny.RunAsync(Request(tiny, p, 60))));

        for (var i = 0; i < Prompts.Length; i++)
        {
            Assert.Equal(alone[i], results[i].Tokens);
        }

        Assert.True(tiny.Engine.Statistics.Preemptions > 0, "the budget was never tight enough to preempt");
        Assert.Equal(0, tiny.Engine.Statistics.UsedBlocks);
    }

    [Fact]
    public void AFullWaitingQueueIsRefusedWithARetryHint()
    {
        using var harness = new EngineHarness(TestModels.Stories260KGguf, new EngineOptions { MaxRunningSequences = 1, MaxWaitingRequests = 2 });
        using var cts = new CancellationTokenSource();
        var request = Request(harness, "Once upon a time", 400);
        var accepted = 0;
        var e = Assert.Throws<EngineOverloadedException>(() =>
        {
            for (var i = 0; i < 10; i++)
            {
                harness.Engine.Submit(request, cts.Token);
                accepted++;
            }
        });
        Assert.InRange(accepted, 2, 3);
        Assert.True(e.RetryAfter > TimeSpan.Zero);
        cts.Cancel();
    }

    [Fact]
    public async Task ARequestTheKvCacheCanNeverHoldIsRefusedWithHowMuchFits()
    {
        var backend = new BackendOptions { KvBlockCount = 8 };
        using var harness = new EngineHarness(TestModels.Stories260KGguf, backend: backend);
        var prompt = harness.Model.Tokenizer.Encode("Once upon a time", addBos: true);
        var capacity = backend.KvBlockCount * backend.KvBlockSize;

        var e = Assert.Throws<KvCapacityExceededException>(() => harness.Engine.Submit(EngineHarness.Greedy(prompt, capacity), CancellationToken.None));
        Assert.Equal(capacity - prompt.Length, e.MaxTokensThatFit);
        Assert.Contains($"lower max_tokens to at most {capacity - prompt.Length}", e.Message, StringComparison.Ordinal);

        // The largest max_tokens it names does fit, and runs to its end.
        var result = await harness.RunAsync(EngineHarness.Greedy(prompt, e.MaxTokensThatFit));
        Assert.Equal(e.MaxTokensThatFit, result.Tokens.Count);
        Assert.Equal(0, harness.Engine.Statistics.UsedBlocks);
    }

    private static GenerationRequest Request(EngineHarness harness, string prompt, int maxTokens) =>
        EngineHarness.Greedy(harness.Model.Tokenizer.Encode(prompt, addBos: true), maxTokens);
}
