using Mesh.Inference.Tokenization;

namespace Mesh.Inference.Tests.Tokenization;

/// <summary>
/// <see cref="ITokenizer.EncodeRendered"/>: control-token text is a token outside the plain spans and
/// plain text wherever it touches one (inside, or straddling a span's edge); malformed spans are refused.
/// stories260K's <c>&lt;unk&gt;</c> is an unknown-kind token, parsed only with parse_special.
/// </summary>
public sealed class EncodeRenderedTests
{
    private static readonly SentencePieceTokenizer Tokenizer = TokenizerModelsFixture.FromGguf(TestModels.Stories260KGguf);

    [Fact]
    public void SpecialTokenText_IsATokenOutsideTheSpans_AndTextWhereItTouchesOne()
    {
        const string text = "a<unk>b<unk>c<unk>";
        int unk = Tokenizer.Encode("<unk>", addBos: false, parseSpecial: true).Single();
        int[] parsed = Tokenizer.Encode(text, addBos: true, parseSpecial: true);
        Assert.Equal(parsed, Tokenizer.EncodeRendered(text, addBos: true, []));
        Assert.Equal(3, parsed.Count(id => id == unk));

        // The first "<unk>" inside a span, the second straddling the next span's start: both text.
        int[] ids = Tokenizer.EncodeRendered(text, addBos: true, [new TextSpan(1, 5), new TextSpan(9, 4)]);
        Assert.Equal(Tokenizer.BosId, ids[0]);
        Assert.Single(ids, id => id == unk);
        Assert.Equal(unk, ids[^1]);
        Assert.Equal([.. Tokenizer.Encode("a<unk>b<unk>c", addBos: true), unk], ids);
    }

    [Theory]
    [InlineData(-1, 2)]
    [InlineData(3, 10)]
    [InlineData(2, -1)]
    public void ASpanOutsideTheText_IsRefused(int start, int length) =>
        Assert.Throws<ArgumentException>(() => Tokenizer.EncodeRendered("a<unk>b", addBos: false, [new TextSpan(start, length)]));

    [Fact]
    public void OverlappingOrUnsortedSpans_AreRefused()
    {
        Assert.Throws<ArgumentException>(() => Tokenizer.EncodeRendered("a<unk>b", addBos: false, [new TextSpan(0, 3), new TextSpan(2, 2)]));
        Assert.Throws<ArgumentException>(() => Tokenizer.EncodeRendered("a<unk>b", addBos: false, [new TextSpan(4, 1), new TextSpan(0, 1)]));
    }
}
