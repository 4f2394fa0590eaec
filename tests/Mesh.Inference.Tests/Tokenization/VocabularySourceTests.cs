using Mesh.Inference.Tokenization;

namespace Mesh.Inference.Tests.Tokenization;

/// <summary>
/// One vocabulary, several files: the tokenizer must come out the same whichever file a model ships
/// with, or the same model would see different ids depending on how it was packaged.
/// </summary>
public sealed class VocabularySourceTests(TokenizerModelsFixture models) : IClassFixture<TokenizerModelsFixture>
{
    [Fact]
    public void Llama2Gguf_EqualsLlama2TokenizerModel()
    {
        var fromModelFile = SentencePieceTokenizer.FromModelFile(TestModels.Llama2TokenizerModel);

        AssertSameVocabulary(fromModelFile.Vocabulary, models.TinyRandom.Vocabulary);
        Assert.Equal(32000, fromModelFile.VocabSize);
        AssertSameEncodings(fromModelFile, models.TinyRandom);
    }

    [Fact]
    public void Llama2cTokenizerFile_EqualsStories260KGguf()
    {
        var fromLlama2c = SentencePieceTokenizer.Create(Llama2cTokenizerReader.Read(TestModels.Stories260KTokenizer, vocabSize: 512));

        AssertSameVocabulary(fromLlama2c.Vocabulary, models.Stories260K.Vocabulary);
        AssertSameEncodings(fromLlama2c, models.Stories260K);
    }

    [Fact]
    public void Llama2cTokenizerFile_StoresSpacesAsU2581AndKnowsTheKinds()
    {
        var vocabulary = Llama2cTokenizerReader.Read(TestModels.Stories260KTokenizer, vocabSize: 512);

        Assert.Equal("\u2581t", vocabulary.Pieces[259]);
        Assert.Equal([TokenKind.Unknown, TokenKind.Control, TokenKind.Control, TokenKind.Byte], vocabulary.Kinds.Take(4));
        Assert.Equal("<0x0A>", vocabulary.Pieces[3 + 0x0A]);
        Assert.Equal(TokenKind.Normal, vocabulary.Kinds[259]);
        Assert.Equal((1, 2, 0, true), (vocabulary.BosId, vocabulary.EosId, vocabulary.UnkId, vocabulary.AddBos));
    }

    private static void AssertSameVocabulary(SentencePieceVocabulary expected, SentencePieceVocabulary actual)
    {
        Assert.Equal(expected.Pieces, actual.Pieces);
        Assert.Equal(expected.Scores, actual.Scores);
        Assert.Equal(expected.Kinds, actual.Kinds);
        Assert.Equal((expected.BosId, expected.EosId, expected.UnkId, expected.AddBos), (actual.BosId, actual.EosId, actual.UnkId, actual.AddBos));
    }

    private void AssertSameEncodings(SentencePieceTokenizer expected, SentencePieceTokenizer actual)
    {
        foreach (string text in models.Corpus)
        {
            Assert.Equal(expected.Encode(text, addBos: true), actual.Encode(text, addBos: true));
        }
    }
}
