using Mesh.Inference.Models;
using Mesh.Inference.Tests.Tokenization;
using Xunit.Abstractions;

namespace Mesh.Inference.Tests.Architectures;

/// <summary>
/// TinyStories-656K's tokenizer.json, read from its Hugging Face directory, encodes as the model's
/// GGUF vocabulary does: id for id against Mesh's GGUF tokenizer on every line of the tokenizer
/// corpus (spaces, digits, accents, CJK, emoji, code, URLs), and against llama.cpp on the lines whose
/// characters the vocabulary covers (the vocabulary has no byte tokens, and llama.cpp aborts the
/// process on a character it cannot encode, so it cannot be asked about the others).
/// </summary>
public sealed class HuggingFaceTokenizerTests(ITestOutputHelper output)
{
    [Fact]
    public void TokenizerJsonEncodesAsTheGgufVocabularyDoes()
    {
        using var hf = LlamaModel.Load(ArchitectureModels.TinyStoriesHf);
        using var gguf = LlamaModel.Load(ArchitectureModels.TinyStoriesGguf);
        var lines = TokenizerCorpus.Create(generatedCount: 1500);

        var mismatches = lines.Where(line => !gguf.Tokenizer.Encode(line, addBos: true).SequenceEqual(hf.Tokenizer.Encode(line, addBos: true))).ToList();

        Assert.True(mismatches.Count == 0, $"{mismatches.Count} of {lines.Count} lines differ, first: \"{mismatches.FirstOrDefault()}\"");
    }

    [Fact]
    public void TokenizerJsonEncodesAsLlamaCppWhereLlamaCppCanEncode()
    {
        using var hf = LlamaModel.Load(ArchitectureModels.TinyStoriesHf);
        using var llamaCpp = new LlamaCppTokenizer(ArchitectureModels.TinyStoriesGguf);
        var characters = ArchitectureModels.TinyStoriesVocabulary.Pieces
            .Select(p => p.Replace('\u2581', ' '))
            .Where(p => p.Length == 1)
            .Select(p => p[0])
            .ToHashSet();
        var lines = TokenizerCorpus.Create(generatedCount: 1500).Where(line => line.All(characters.Contains)).ToList();

        var mismatches = lines.Where(line => !llamaCpp.Encode(line, addBos: true).SequenceEqual(hf.Tokenizer.Encode(line, addBos: true))).ToList();

        output.WriteLine($"{lines.Count} corpus lines within the vocabulary's characters");
        Assert.True(lines.Count >= 50, $"only {lines.Count} lines to compare");
        Assert.True(mismatches.Count == 0, $"{mismatches.Count} of {lines.Count} lines differ, first: \"{mismatches.FirstOrDefault()}\"");
    }

    [Fact]
    public void SpecialTokensAndBosComeFromTheDirectory()
    {
        using var model = LlamaModel.Load(ArchitectureModels.TinyStoriesHf);

        Assert.Equal(1, model.Tokenizer.BosId);
        Assert.Equal(2, model.Tokenizer.EosId);
        Assert.True(model.Tokenizer.AddBosByDefault);
        Assert.Equal(2048, model.Tokenizer.VocabSize);
    }
}
