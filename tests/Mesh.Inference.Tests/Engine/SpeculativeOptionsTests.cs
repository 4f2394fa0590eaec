using Mesh.Inference.Engine;
using Mesh.Inference.Hosting;

namespace Mesh.Inference.Tests.Engine;

/// <summary>Speculative decoding's settings are refused at start, naming the keys, when they cannot work.</summary>
public sealed class SpeculativeOptionsTests
{
    [Theory]
    [InlineData(-1, 4, 2)]
    [InlineData(EngineOptions.MaxSpeculativeTokens + 1, 4, 2)]
    [InlineData(4, 4, 0)]
    [InlineData(4, 2, 3)]
    public void OutOfRangeSettingsAreRefusedNamingThem(int tokens, int max, int min)
    {
        var result = Validate(new EngineOptions { NumSpeculativeTokens = tokens, PromptLookupMax = max, PromptLookupMin = min });
        Assert.True(result.Failed);
        Assert.Contains("Inference:Engine: NumSpeculativeTokens must be 0 (off) to 16 and 1 <= PromptLookupMin <= PromptLookupMax", result.FailureMessage);
    }

    [Fact]
    public void TheDefaultIsOffAndValid()
    {
        var options = new EngineOptions();
        Assert.Equal(0, options.NumSpeculativeTokens);
        Assert.True(Validate(options).Succeeded);
        Assert.True(Validate(new EngineOptions { NumSpeculativeTokens = 16, PromptLookupMax = 1, PromptLookupMin = 1 }).Succeeded);
    }

    private static Microsoft.Extensions.Options.ValidateOptionsResult Validate(EngineOptions engine) =>
        new InferenceOptionsValidator().Validate(null, new InferenceOptions { Engine = engine, Models = [new() { Path = "model.gguf" }] });
}
