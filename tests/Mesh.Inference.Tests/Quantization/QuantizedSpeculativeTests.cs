using LLama.Native;
using Mesh.Inference.Backends;
using Mesh.Inference.Engine;
using Mesh.Inference.Sampling;

namespace Mesh.Inference.Tests.Quantization;

/// <summary>
/// Speculative decoding on a file llama.cpp quantized to Q8_0: the verification step scores the
/// drafted tokens as one batch (the prefill tiles) where plain decoding scores them one at a time (the
/// eight-row decode kernels), so the answer is plain decoding's only if those kernels give a token the
/// same bits. Greedy and seeded sampling, with logprobs, at 1 and 3 threads.
/// </summary>
public sealed class QuantizedSpeculativeTests(QuantizedModelsFixture files) : IClassFixture<QuantizedModelsFixture>
{
    [Theory]
    [InlineData(LLamaFtype.MOSTLY_Q8_0, 1)]
    [InlineData(LLamaFtype.MOSTLY_Q8_0, 3)]
    public async Task SpeculationOnAQuantizedFileGivesThePlainTokensAndLogprobs(LLamaFtype fileType, int threads)
    {
        var path = files.Get(fileType);
        var backend = new BackendOptions { Threads = threads };
        using var plain = new EngineHarness(path, backend: backend);
        using var spec = new EngineHarness(path, new EngineOptions { NumSpeculativeTokens = 4 }, backend);

        // A prompt that copies itself (the model's own continuation, then its opening again), so
        // prompt lookup drafts tokens the model goes on to accept and reject.
        int[] start = [1, 80, 147, 201, 282, 57];
        var story = (await plain.RunAsync(EngineHarness.Greedy(start, 48))).Tokens;
        int[] prompt = [.. start, .. story, .. start];
        foreach (var sampling in new[] { SamplingParameters.Greedy, new SamplingParameters { Temperature = 0.8f, Seed = 5 } })
        {
            var request = new GenerationRequest(prompt, 64, sampling, [], IgnoreEos: true, TopLogprobs: 2);
            var expected = await RunAsync(plain, request);
            var actual = await RunAsync(spec, request);
            Assert.True(expected.Tokens.SequenceEqual(actual.Tokens), $"{sampling}: plain [{string.Join(' ', expected.Tokens)}], speculative [{string.Join(' ', actual.Tokens)}]");
            Assert.Equal(expected.Logprobs.Count, actual.Logprobs.Count);
            for (var i = 0; i < expected.Logprobs.Count; i++)
            {
                Assert.Equal((expected.Logprobs[i].TokenId, expected.Logprobs[i].Logprob), (actual.Logprobs[i].TokenId, actual.Logprobs[i].Logprob));
                Assert.Equal(expected.Logprobs[i].Top, actual.Logprobs[i].Top);
            }
        }

        var stats = spec.Engine.Statistics;
        Assert.True(stats.SpecDecodeAcceptedTokens > 0, "no draft was accepted: verification of accepted drafts is not exercised");
        Assert.True(stats.SpecDecodeAcceptedTokens < stats.SpecDecodeDraftTokens, "no draft was rejected: rejection is not exercised");
    }

    private static async Task<(List<int> Tokens, List<TokenLogprob> Logprobs)> RunAsync(EngineHarness harness, GenerationRequest request)
    {
        var tokens = new List<int>();
        var logprobs = new List<TokenLogprob>();
        await foreach (var chunk in harness.Engine.Submit(request, CancellationToken.None).ReadAllAsync())
        {
            tokens.AddRange(chunk.TokenIds);
            logprobs.AddRange(chunk.Logprobs ?? []);
        }

        return (tokens, logprobs);
    }
}
