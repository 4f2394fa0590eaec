using Mesh.Inference.Models;
using Mesh.Inference.Models.Gguf;
using Mesh.Inference.Tokenization;

namespace Mesh.Inference.Tests.Tokenization;

/// <summary>
/// A byte-level BPE vocabulary in a GGUF file is untrusted input: every malformed or unsupported key is a
/// <see cref="ModelFormatException"/> naming the key, never a crash or a tokenizer that silently differs.
/// </summary>
public sealed class BpeTokenizerFileErrorTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("mesh-bpe-errors-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public void UnknownPreTokenizer_IsRefused_NamingTheSupportedOnes()
    {
        var error = Read(Valid(("tokenizer.ggml.pre", "mystery-7b")));
        Assert.Equal("tokenizer.ggml.pre", error.Field);
        Assert.Contains("\"mystery-7b\"", error.Message, StringComparison.Ordinal);
        Assert.Contains("llama-bpe", error.Message, StringComparison.Ordinal);
        Assert.Contains("qwen2", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void MissingMerges_AreRefused() =>
        Assert.Equal("tokenizer.ggml.merges", Read(Valid().Where(kv => kv.Key != "tokenizer.ggml.merges").ToArray()).Field);

    [Theory]
    [InlineData("ab")]
    [InlineData("a b c")]
    [InlineData(" ab")]
    public void MalformedMerge_IsRefused(string merge)
    {
        var error = Read(Valid(("tokenizer.ggml.merges", new[] { merge })));
        Assert.Equal("tokenizer.ggml.merges", error.Field);
        Assert.Contains("two tokens separated by one space", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("a c")]
    [InlineData("x y")]
    public void MergeOfUnknownTokens_LoadsOrIsRefusedByName_NeverAnotherError(string merge)
    {
        string path = Path.Combine(_directory, $"{Guid.NewGuid():N}.gguf");
        GgufMetadataWriter.Write(path, Valid(("tokenizer.ggml.merges", new[] { "a b", merge })));
        using var gguf = GgufFile.Open(path);
        try
        {
            var tokenizer = TokenizerMetadata.ReadTokenizer(gguf); // llama.cpp accepts such merges; so may Mesh
            Assert.Equal([2], tokenizer.Encode("ab", addBos: false));
        }
        catch (ModelFormatException e)
        {
            Assert.Equal("tokenizer.ggml.merges", e.Field);
        }
    }

    [Fact]
    public void TokenTypeOutOfRange_NamesTheToken() =>
        Assert.Equal("tokenizer.ggml.token_type[1]", Read(Valid(("tokenizer.ggml.token_type", new[] { 1, 9, 1, 3 }))).Field);

    [Fact]
    public void TokenTypesForTooFewTokens_AreRefused() =>
        Assert.Equal("tokenizer.ggml.token_type", Read(Valid(("tokenizer.ggml.token_type", new[] { 1, 1 }))).Field);

    [Theory]
    [InlineData("tokenizer.ggml.eot_token_id")]
    [InlineData("tokenizer.ggml.eos_token_id")]
    [InlineData("tokenizer.ggml.bos_token_id")]
    public void SpecialIdOutsideTheVocabulary_IsRefused(string key)
    {
        var error = Read(Valid((key, 99u)));
        Assert.Equal(key, error.Field);
        Assert.Contains("outside the vocabulary of 4 tokens", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ImplausiblyLongToken_IsRefused() =>
        Assert.Equal("tokenizer.ggml.tokens[2]", Read(Valid(("tokenizer.ggml.tokens", new[] { "a", "b", new string('x', 5000), "<|endoftext|>" }))).Field);

    [Fact]
    public void UnsupportedTokenizerModel_NamesTheSupportedOnes()
    {
        var error = Read(Valid(("tokenizer.ggml.model", "t5")));
        Assert.Equal("tokenizer.ggml.model", error.Field);
        Assert.Contains("\"gpt2\"", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void MinimalVocabulary_Loads_WithLlamaCppsDefaults()
    {
        string path = Path.Combine(_directory, "ok.gguf");
        GgufMetadataWriter.Write(path, Valid().Where(kv => kv.Key is not ("tokenizer.ggml.pre" or "tokenizer.ggml.token_type")).ToArray());
        using var gguf = GgufFile.Open(path);
        var tokenizer = (ByteLevelBpeTokenizer)TokenizerMetadata.ReadTokenizer(gguf);
        Assert.Equal("default", tokenizer.PreTokenizer.Name);
        Assert.False(tokenizer.AddBosByDefault);
        Assert.Equal([2], tokenizer.Encode("ab", addBos: false));
        Assert.Equal("ab", tokenizer.Decode([2]));
    }

    private static (string Key, object Value)[] Valid(params (string Key, object Value)[] overrides)
    {
        (string Key, object Value)[] keys =
        [
            ("tokenizer.ggml.model", "gpt2"),
            ("tokenizer.ggml.pre", "gpt-2"),
            ("tokenizer.ggml.tokens", new[] { "a", "b", "ab", "<|endoftext|>" }),
            ("tokenizer.ggml.token_type", new[] { 1, 1, 1, 3 }),
            ("tokenizer.ggml.merges", new[] { "a b" }),
            ("tokenizer.ggml.bos_token_id", 3u),
            ("tokenizer.ggml.eos_token_id", 3u),
        ];
        return [.. keys.Where(kv => !overrides.Any(o => o.Key == kv.Key)), .. overrides];
    }

    private ModelFormatException Read((string Key, object Value)[] metadata)
    {
        string path = Path.Combine(_directory, $"{Guid.NewGuid():N}.gguf");
        GgufMetadataWriter.Write(path, metadata);
        using var gguf = GgufFile.Open(path);
        var error = Assert.Throws<ModelFormatException>(() => TokenizerMetadata.ReadTokenizer(gguf));
        Assert.Equal(path, error.FilePath);
        return error;
    }
}
