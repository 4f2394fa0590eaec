using Google.Protobuf;
using Mesh.Inference.Models;
using Mesh.Inference.Models.Gguf;
using Mesh.Inference.Tokenization;
using Mesh.Inference.Tokenization.Protos;

namespace Mesh.Inference.Tests.Tokenization;

/// <summary>
/// Tokenizer files are untrusted input: a truncated, malformed or unsupported file is an error that
/// names the file and the field, never an out-of-range read or a tokenizer that silently differs.
/// </summary>
public sealed class TokenizerFileErrorTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("mesh-tokenizer-tests-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Theory]
    [InlineData(2, "max_token_length")]
    [InlineData(10, "token[0].length")]
    [InlineData(14, "token[0].bytes")]
    [InlineData(6000, "token[")]
    public void TruncatedLlama2cFile_NamesTheFieldItEndsIn(int keptBytes, string field)
    {
        string path = Write("tok512.bin", File.ReadAllBytes(TestModels.Stories260KTokenizer)[..keptBytes]);

        var error = Assert.Throws<ModelFormatException>(() => Llama2cTokenizerReader.Read(path, vocabSize: 512));

        Assert.Equal(path, error.FilePath);
        Assert.StartsWith(field, error.Field, StringComparison.Ordinal);
        Assert.Contains(path, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Llama2cFile_WithMoreTokensThanTheModel_IsRejected()
    {
        var error = Assert.Throws<ModelFormatException>(() => Llama2cTokenizerReader.Read(TestModels.Stories260KTokenizer, vocabSize: 500));
        Assert.Contains("vocab_size (500)", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Llama2cFile_WithANegativeLength_IsRejected()
    {
        byte[] bytes = File.ReadAllBytes(TestModels.Stories260KTokenizer);
        BitConverter.TryWriteBytes(bytes.AsSpan(8, 4), -5); // token[0].length
        string path = Write("negative.bin", bytes);

        var error = Assert.Throws<ModelFormatException>(() => Llama2cTokenizerReader.Read(path, vocabSize: 512));
        Assert.Equal("token[0].length", error.Field);
    }

    [Fact]
    public void Gguf_WithANonLlamaTokenizer_IsRejected()
    {
        string path = WriteGguf(("tokenizer.ggml.model", "gpt2"), ("tokenizer.ggml.tokens", new[] { "a" }));
        using var gguf = GgufFile.Open(path);

        var error = Assert.Throws<ModelFormatException>(() => GgufTokenizerReader.Read(gguf));
        Assert.Equal("tokenizer.ggml.model", error.Field);
        Assert.Contains("\"gpt2\"", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Gguf_WithScoresForTooFewTokens_IsRejected()
    {
        string path = WriteGguf(
            ("tokenizer.ggml.model", "llama"),
            ("tokenizer.ggml.tokens", new[] { "<unk>", "<s>", "</s>", "\u2581a" }),
            ("tokenizer.ggml.scores", new[] { 0f, 0f }));
        using var gguf = GgufFile.Open(path);

        var error = Assert.Throws<ModelFormatException>(() => GgufTokenizerReader.Read(gguf));
        Assert.Equal("tokenizer.ggml.scores", error.Field);
    }

    [Fact]
    public void Gguf_WithABosIdOutsideTheVocabulary_IsRejected()
    {
        string path = WriteGguf(
            ("tokenizer.ggml.model", "llama"),
            ("tokenizer.ggml.tokens", new[] { "<unk>", "<s>", "</s>", "\u2581a" }),
            ("tokenizer.ggml.bos_token_id", 7u));
        using var gguf = GgufFile.Open(path);

        var error = Assert.Throws<ModelFormatException>(() => GgufTokenizerReader.Read(gguf));
        Assert.Equal("tokenizer.ggml.bos_token_id", error.Field);
    }

    [Fact]
    public void Gguf_WithOnlyTheRequiredKeys_TakesLlamaCppDefaults()
    {
        string path = WriteGguf(("tokenizer.ggml.model", "llama"), ("tokenizer.ggml.tokens", new[] { "<unk>", "<s>", "</s>", "\u2581a", "a" }));
        using var gguf = GgufFile.Open(path);

        var tokenizer = SentencePieceTokenizer.Create(GgufTokenizerReader.Read(gguf));

        Assert.Equal((1, 2, true), (tokenizer.BosId, tokenizer.EosId, tokenizer.AddBosByDefault));
        Assert.Equal([1, 3, 4], tokenizer.Encode("aa", addBos: true));
    }

    [Fact]
    public void ModelFile_ThatIsNotAModelProto_IsRejected()
    {
        string path = Write("garbage.model", [0xFF, 0xFF, 0xFF, 0xFF, 0x0F]);

        var error = Assert.Throws<ModelFormatException>(() => SentencePieceTokenizer.FromModelFile(path));
        Assert.Equal(path, error.FilePath);
        Assert.Equal("ModelProto", error.Field);
    }

    [Fact]
    public void ModelFile_OfAUnigramModel_IsRejected()
    {
        var model = new ModelProto { TrainerSpec = new TrainerSpec { ModelType = TrainerSpec.Types.ModelType.Unigram } };
        model.Pieces.Add(new ModelProto.Types.SentencePiece { Piece = "<unk>", Type = ModelProto.Types.SentencePiece.Types.Type.Unknown });
        string path = Write("unigram.model", model.ToByteArray());

        var error = Assert.Throws<ModelFormatException>(() => SentencePieceTokenizer.FromModelFile(path));
        Assert.Equal("trainer_spec.model_type", error.Field);
    }

    [Fact]
    public void Vocabulary_WithMissingByteTokens_IsRejected()
    {
        var vocabulary = new SentencePieceVocabulary(
            ["<unk>", "<s>", "</s>", "<0x00>", "<0x01>"], [0, 0, 0, 0, 0],
            [TokenKind.Unknown, TokenKind.Control, TokenKind.Control, TokenKind.Byte, TokenKind.Byte],
            BosId: 1, EosId: 2, UnkId: 0, AddBos: true);

        var error = Assert.Throws<ArgumentException>(() => SentencePieceTokenizer.Create(vocabulary));
        Assert.Contains("all 256", error.Message, StringComparison.Ordinal);
    }

    private string Write(string name, byte[] bytes)
    {
        string path = Path.Combine(_directory, name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    private string WriteGguf(params (string Key, object Value)[] metadata)
    {
        string path = Path.Combine(_directory, $"{Guid.NewGuid():N}.gguf");
        GgufMetadataWriter.Write(path, metadata);
        return path;
    }
}
