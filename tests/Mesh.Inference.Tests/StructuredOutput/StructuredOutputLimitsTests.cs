using Grpc.Core;
using Mesh.Inference.Engine;
using Mesh.Inference.Sampling;
using Mesh.Inference.Services;
using Mesh.Inference.StructuredOutput;
using Mesh.Inference.Tests.Tokenization;

namespace Mesh.Inference.Tests.StructuredOutput;

/// <summary>Vocabularies that cannot spell a format, and the bounded compile cache.</summary>
public sealed class StructuredOutputLimitsTests
{
    /// <summary>TinyStories-656K: a 2048-token BPE vocabulary without byte tokens and without '{'.</summary>
    private static string TinyStories656K => Path.Combine(Path.GetDirectoryName(Path.GetDirectoryName(TestModels.Stories260KGguf))!, "TinyStories-656K", "TinyStories-656K-F32.gguf");

    [Fact]
    public void A_vocabulary_that_cannot_begin_the_format_is_refused_up_front()
    {
        using var model = Models.LlamaModel.Load(TinyStories656K);
        var format = new V1.ResponseFormat { JsonObject = new V1.JsonObjectFormat() };
        var e = Assert.Throws<UnsatisfiableFormatException>(() => ResponseFormatValidator.Validate(format, model));
        Assert.Equal(StatusCode.FailedPrecondition, e.Code);
        Assert.Contains("can begin this format", e.Message);
    }

    [Fact]
    public async Task A_dead_end_during_generation_fails_the_stream_with_failed_precondition()
    {
        using var harness = new EngineHarness(TinyStories656K);
        var format = new ResponseFormatCache().Get(new(ResponseFormatKind.Regex, "a\\{", [], new()), TokenVocabulary.For(harness.Model.Tokenizer));
        var request = new GenerationRequest([harness.Model.Tokenizer.BosId], 8, new SamplingParameters { Temperature = 1, Seed = 1 }, [], LogitsProcessor: format.CreateProcessor([harness.Model.Tokenizer.BosId]));
        var e = await Assert.ThrowsAsync<UnsatisfiableFormatException>(() => harness.RunAsync(request));
        Assert.Equal(StatusCode.FailedPrecondition, e.Code);
        Assert.Contains("after 1 tokens", e.Message);
    }

    [Fact]
    public void Compiled_formats_are_cached_and_the_cache_is_bounded()
    {
        var cache = new ResponseFormatCache(capacity: 2);
        var vocabulary = SyntheticVocabularies.ByteLevel;
        ResponseFormat Choice(string s) => new(ResponseFormatKind.Choice, "", [s], new());
        var a = cache.Get(Choice("a"), vocabulary);
        var b = cache.Get(Choice("b"), vocabulary);
        Assert.Same(a, cache.Get(Choice("a"), vocabulary));
        cache.Get(Choice("c"), vocabulary); // evicts b, the least recently used
        Assert.Equal(2, cache.Count);
        Assert.Same(a, cache.Get(Choice("a"), vocabulary));
        Assert.NotSame(b, cache.Get(Choice("b"), vocabulary));
    }
}
