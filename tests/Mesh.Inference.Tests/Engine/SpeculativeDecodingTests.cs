using System.Diagnostics.Metrics;
using Mesh.Inference.Engine;
using Mesh.Inference.Sampling;
using Mesh.Inference.Tests.Tokenization;

namespace Mesh.Inference.Tests.Engine;

/// <summary>
/// Speculative decoding by prompt lookup changes how many tokens a step yields, never which: on
/// the real tiny models, an engine with <c>num_speculative_tokens</c> = 4 returns exactly the tokens,
/// text, logprobs and finish reasons of plain decoding, for greedy and seeded sampling (penalties
/// included), with stop strings, <c>max_tokens</c> and end-of-sequence landing inside accepted
/// runs, and with speculating and plain sequences in one batch. The prompts copy from themselves
/// (a story the model wrote, then the same opening again), so drafts are accepted and rejected.
/// </summary>
public sealed class SpeculativeDecodingTests
{
    private const string Passage = "Tom had a big red ball. He took the ball to the park to play with his friend Sue. Sue kicked the ball very high and it went into a tree.";

    private static readonly SamplingParameters[] Samplings =
    [
        SamplingParameters.Greedy,
        new() { Temperature = 0.8f, Seed = 11 },
        new() { Temperature = 1f, TopK = 40, TopP = 0.9f, MinP = 0.05f, RepetitionPenalty = 1.15f, FrequencyPenalty = 0.2f, PresencePenalty = 0.1f, Seed = 3 },
    ];

    public static TheoryData<string> Models => ["stories260K", "TinyStories-656K"];

    [Theory]
    [MemberData(nameof(Models))]
    public async Task GreedyAndSeededSamplingGiveThePlainTokensTextAndLogprobs(string model)
    {
        using var plain = new EngineHarness(PathOf(model));
        using var spec = new EngineHarness(PathOf(model), new EngineOptions { NumSpeculativeTokens = 4 });
        foreach (var prompt in await PromptsAsync(plain))
        {
            foreach (var sampling in Samplings)
            {
                var request = new GenerationRequest(prompt, 96, sampling, [], IgnoreEos: true, TopLogprobs: 3);
                AssertSame(await RunAsync(plain, request), await RunAsync(spec, request), sampling.ToString());
            }
        }

        var stats = spec.Engine.Statistics;
        Assert.True(stats.SpecDecodeAcceptedTokens >= 20, $"only {stats.SpecDecodeAcceptedTokens} drafts accepted: the prompts do not exercise acceptance");
        Assert.True(stats.SpecDecodeAcceptedTokens < stats.SpecDecodeDraftTokens, "no draft was rejected: rejection is not exercised");
        Assert.Equal(0, plain.Engine.Statistics.SpecDecodeDraftTokens);
    }

    [Theory]
    [MemberData(nameof(Models))]
    public async Task StopStringsMaxTokensAndEndOfSequenceInsideAcceptedRunsEndAsPlainDecodingDoes(string model)
    {
        using var plain = new EngineHarness(PathOf(model));
        using var spec = new EngineHarness(PathOf(model), new EngineOptions { NumSpeculativeTokens = 4 });
        var retell = (await PromptsAsync(plain))[0];
        foreach (var sampling in Samplings[..2])
        {
            // End of sequence as the model decides it (the retold story's end token is in the prompt, so it is drafted).
            var whole = new GenerationRequest(retell, 160, sampling, []);
            var full = await RunAsync(plain, whole);
            AssertSame(full, await RunAsync(spec, whole), $"{sampling} whole");

            // max_tokens at every length up to 40: each one ends somewhere in or at the end of a run.
            for (var max = 1; max <= Math.Min(40, full.Tokens.Count); max++)
            {
                var request = whole with { MaxTokens = max };
                AssertSame(await RunAsync(plain, request), await RunAsync(spec, request), $"{sampling} max_tokens {max}");
            }

            // A stop string at every word of the output's first 40 tokens.
            var words = full.Text.Split(' ', StringSplitOptions.RemoveEmptyEntries).Take(24).Distinct().ToArray();
            Assert.NotEmpty(words);
            foreach (var word in words)
            {
                var request = whole with { Stop = [word] };
                var expected = await RunAsync(plain, request);
                Assert.Equal(FinishReason.Stop, expected.Finish);
                AssertSame(expected, await RunAsync(spec, request), $"{sampling} stop '{word}'");
            }
        }

        Assert.True(spec.Engine.Statistics.SpecDecodeAcceptedTokens >= 20, $"only {spec.Engine.Statistics.SpecDecodeAcceptedTokens} drafts accepted");
    }

    [Theory]
    [MemberData(nameof(Models))]
    public async Task SpeculatingAndPlainSequencesInOneBatchEachGetTheirAloneOutput(string model)
    {
        var prompts = new List<int[]>();
        var requests = new List<GenerationRequest>();
        var alone = new List<Output>();
        long aloneSteps;
        using (var single = new EngineHarness(PathOf(model), new EngineOptions { MaxRunningSequences = 1 }))
        {
            prompts.AddRange(await PromptsAsync(single));
            for (var i = 0; i < 6; i++)
            {
                requests.Add(new GenerationRequest(prompts[i % prompts.Count], 80, Samplings[i % 2], [], IgnoreEos: true,
                    TopLogprobs: i % 3 == 0 ? 2 : 0, NumSpeculativeTokens: i % 2 == 0 ? null : 0));
                alone.Add(await RunAsync(single, requests[i]));
            }

            aloneSteps = single.Engine.Statistics.Steps;
        }

        long drafted = 0, accepted = 0;
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == InferenceMetrics.MeterName && instrument.Name.StartsWith("mesh.inference.spec_decode.num_", StringComparison.Ordinal))
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, _, _) =>
        {
            if (instrument.Name.EndsWith("draft_tokens", StringComparison.Ordinal))
            {
                Interlocked.Add(ref drafted, value);
            }
            else if (instrument.Name.EndsWith("accepted_tokens", StringComparison.Ordinal))
            {
                Interlocked.Add(ref accepted, value);
            }
        });
        listener.Start();

        using var batched = new EngineHarness(PathOf(model), new EngineOptions { MaxRunningSequences = 16, NumSpeculativeTokens = 4 });
        var together = await Task.WhenAll(requests.Select(r => RunAsync(batched, r)));
        for (var i = 0; i < requests.Count; i++)
        {
            AssertSame(alone[i], together[i], $"request {i}");
        }

        var stats = batched.Engine.Statistics;
        // One at a time (plus the story for the prompts) took aloneSteps; sharing steps takes far fewer.
        Assert.True(stats.Steps * 2 < aloneSteps, $"{stats.Steps} steps batched vs {aloneSteps} alone: the requests did not share steps");
        Assert.True(stats.SpecDecodeAcceptedTokens > 0);
        Assert.Equal((stats.SpecDecodeDraftTokens, stats.SpecDecodeAcceptedTokens), (Interlocked.Read(ref drafted), Interlocked.Read(ref accepted)));
    }

    private static string PathOf(string model) => model == "stories260K" ? TestModels.Stories260KGguf : TestModels.TinyStories656KGguf;

    /// <summary>
    /// retell: a story the model wrote (greedy, from "Once upon a time"), its end token, and the
    /// same opening again; quote: a written passage, then its first words again; fresh: nothing to copy.
    /// </summary>
    private static async Task<List<int[]>> PromptsAsync(EngineHarness harness)
    {
        var tokenizer = harness.Model.Tokenizer;
        var start = tokenizer.Encode("Once upon a time", true);
        var story = (await harness.RunAsync(new GenerationRequest(start, 100, SamplingParameters.Greedy, []))).Tokens;
        return
        [
            [.. start, .. story, tokenizer.EosId, .. start],
            [.. tokenizer.Encode(Passage, true), tokenizer.EosId, .. tokenizer.Encode("Tom had a big", true)],
            tokenizer.Encode("Lily and Ben went to the park. They", true),
        ];
    }

    private sealed record Output(List<int> Tokens, string Text, List<TokenLogprob> Logprobs, FinishReason? Finish, int CompletionTokens);

    private static async Task<Output> RunAsync(EngineHarness harness, GenerationRequest request)
    {
        var tokens = new List<int>();
        var logprobs = new List<TokenLogprob>();
        var text = new System.Text.StringBuilder();
        GenerationChunk? last = null;
        await foreach (var chunk in harness.Engine.Submit(request, CancellationToken.None).ReadAllAsync())
        {
            tokens.AddRange(chunk.TokenIds);
            logprobs.AddRange(chunk.Logprobs ?? []);
            text.Append(chunk.Text);
            last = chunk;
        }

        return new Output(tokens, text.ToString(), logprobs, last?.Finish, last?.Usage?.CompletionTokens ?? -1);
    }

    private static void AssertSame(Output expected, Output actual, string what)
    {
        Assert.True(expected.Tokens.SequenceEqual(actual.Tokens), $"{what}: tokens differ\n plain       {string.Join(' ', expected.Tokens)}\n speculative {string.Join(' ', actual.Tokens)}");
        Assert.Equal(expected.Text, actual.Text);
        Assert.Equal(expected.Finish, actual.Finish);
        Assert.Equal(expected.CompletionTokens, actual.CompletionTokens);
        Assert.Equal(expected.Logprobs.Count, actual.Logprobs.Count);
        for (var i = 0; i < expected.Logprobs.Count; i++)
        {
            var (e, a) = (expected.Logprobs[i], actual.Logprobs[i]);
            Assert.Equal((e.TokenId, e.Logprob), (a.TokenId, a.Logprob));
            Assert.Equal(e.Top, a.Top);
        }
    }
}
