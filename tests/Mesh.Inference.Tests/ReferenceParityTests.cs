using Mesh.Inference.Tests.Reference;
using Mesh.Inference.Tests.Tokenization;

namespace Mesh.Inference.Tests;

/// <summary>
/// Greedy decoding of stories260K reproduces llama2.c's run.c token for token — against an
/// independent scalar port of run.c and against llama.cpp — from the llama2.c files and from the GGUF.
/// </summary>
public sealed class ReferenceParityTests
{
    private const int Steps = 256;
    private static readonly Lazy<ScalarLlama> Reference = new(() => new ScalarLlama(EngineHarness.Stories260KBin));

    public static TheoryData<string, string> Cases => new()
    {
        { "llama2c", "" },
        { "gguf", "" },
        { "llama2c", "Once upon a time, Tom found a box" },
        { "gguf", "Once upon a time, Tom found a box" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task GreedyDecodingMatchesTheScalarReference(string format, string prompt)
    {
        using var harness = new EngineHarness(format == "gguf" ? TestModels.Stories260KGguf : EngineHarness.Stories260KBin);
        var promptTokens = harness.Model.Tokenizer.Encode(prompt, addBos: true);
        var expected = Reference.Value.Greedy(promptTokens, promptTokens.Length - 1 + Steps);

        var (tokens, _, _) = await harness.RunAsync(EngineHarness.Greedy(promptTokens, Steps));

        Assert.Equal(Steps, tokens.Count);
        Assert.Equal(expected, tokens);
    }

    [Fact]
    public async Task GreedyStoryFromBosStartsAsLlama2cDocumentsIt()
    {
        using var harness = new EngineHarness(EngineHarness.Stories260KBin);
        var (_, text, _) = await harness.RunAsync(EngineHarness.Greedy([harness.Model.Tokenizer.BosId], 40));
        Assert.StartsWith("Once upon a time, there was a little girl named Lily. She loved to play outside in the park.", text, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("")]
    [InlineData("Once upon a time, Tom found a box")]
    public async Task GreedyDecodingOfTheGgufMatchesLlamaCpp(string prompt)
    {
        using var harness = new EngineHarness(TestModels.Stories260KGguf);
        var promptTokens = harness.Model.Tokenizer.Encode(prompt, addBos: true);
        var expected = LlamaCppReference.Greedy(TestModels.Stories260KGguf, promptTokens, Steps);

        var (tokens, _, _) = await harness.RunAsync(EngineHarness.Greedy(promptTokens, Steps));

        Assert.Equal(expected, tokens);
    }

    [Fact]
    public void TheReadmeIdsOfOnceUponATimeAreWhatTheTokenizerGives()
    {
        using var harness = new EngineHarness(TestModels.Stories260KGguf);
        Assert.Equal([1, 403, 407, 261, 378], harness.Model.Tokenizer.Encode("Once upon a time", addBos: true));
    }
}
