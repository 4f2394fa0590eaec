using Mesh.Inference.Tokenization;
using Xunit.Abstractions;

namespace Mesh.Inference.Tests.Tokenization;

/// <summary>
/// Byte-level BPE must give llama.cpp's ids for the same GGUF file, for every pre-tokenizer Mesh
/// supports: real vocabularies (GPT-2, cl100k, o200k), ~3,800 strings each, with and without BOS/EOS.
/// </summary>
[Collection(nameof(BpeTokenizerCollection))]
public sealed class BpeParityTests(BpeTokenizerFixture models, ITestOutputHelper output)
{
    [Theory]
    [InlineData("gpt2", "gpt-2")]
    [InlineData("gpt2", "default")]
    [InlineData("cl100k", "llama-bpe")]
    [InlineData("cl100k", "smollm")]
    [InlineData("cl100k", "deepseek-llm")]
    [InlineData("o200k", "qwen2")]
    [InlineData("o200k", "tekken")]
    public void Encode_MatchesLlamaCpp_OnEveryCorpusString(string vocabulary, string pre)
    {
        var (mesh, llamaCpp, _) = models.Get(vocabulary, pre);
        var mismatches = new List<string>();
        int compared = 0;
        foreach (string text in models.Corpus)
        {
            foreach (bool addSpecial in (bool[])[true, false])
            {
                compared++;
                int[] expected = llamaCpp.Encode(text, addSpecial, parseSpecial: false);
                int[] actual = mesh.Encode(text, addSpecial && mesh.AddBosByDefault, addSpecial && mesh.AddEosByDefault, parseSpecial: false);
                if (!expected.AsSpan().SequenceEqual(actual))
                {
                    mismatches.Add($"{Escape(text)} (special {addSpecial}): llama.cpp [{string.Join(", ", expected)}], Mesh [{string.Join(", ", actual)}]");
                }
            }
        }

        output.WriteLine($"{vocabulary} / {pre}: {compared - mismatches.Count} of {compared} encodings exact ({100.0 * (compared - mismatches.Count) / compared:F2}%)");
        Assert.True(mismatches.Count == 0, $"{mismatches.Count} of {compared} encodings differ from llama.cpp, e.g.\n{string.Join("\n", mismatches.Take(10))}");
    }

    internal static string Escape(string text) => System.Text.Json.JsonSerializer.Serialize(text);
}

[CollectionDefinition(nameof(BpeTokenizerCollection))]
public sealed class BpeTokenizerCollection : ICollectionFixture<BpeTokenizerFixture>;
