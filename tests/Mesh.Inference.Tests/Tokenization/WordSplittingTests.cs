using Mesh.Inference.Tokenization;

namespace Mesh.Inference.Tests.Tokenization;

/// <summary>
/// The encoder segments words separately (and caches them) only when the vocabulary guarantees no
/// merge crosses a word boundary; otherwise it segments the whole text, and the ids stay right.
/// </summary>
public sealed class WordSplittingTests
{
    [Fact]
    public void PieceSpanningAWordBoundary_IsStillFound()
    {
        // "a▁b" can only form across the boundary before "▁b": splitting there would give ▁ a ▁ b.
        string[] pieces = ["<unk>", "<s>", "</s>", "\u2581", "a", "b", "a\u2581", "a\u2581b"];
        var tokenizer = SentencePieceTokenizer.Create(new SentencePieceVocabulary(
            pieces, [0, 0, 0, -4, -5, -6, -1, -2],
            [TokenKind.Unknown, TokenKind.Control, TokenKind.Control, .. Enumerable.Repeat(TokenKind.Normal, 5)],
            BosId: 1, EosId: 2, UnkId: 0, AddBos: true));

        Assert.Equal([1, 3, 7], tokenizer.Encode("a b", addBos: true));
        Assert.Equal([3, 7, 7], tokenizer.Encode("a ba b", addBos: false)); // ▁ a▁b a▁b
        Assert.Equal("a b", tokenizer.Decode([1, 3, 7]));
    }

    [Fact]
    public void RepeatedEncoding_OfTheSameText_GivesTheSameIds()
    {
        var tokenizer = SentencePieceTokenizer.FromModelFile(TestModels.Llama2TokenizerModel);
        string text = "the cat sat on the mat, and the cat was happy; the  cat   sat";

        int[] first = tokenizer.Encode(text, addBos: true);
        int[] second = tokenizer.Encode(text, addBos: true);

        Assert.Equal(first, second);
        Assert.Equal(text, tokenizer.Decode(second));
    }
}
