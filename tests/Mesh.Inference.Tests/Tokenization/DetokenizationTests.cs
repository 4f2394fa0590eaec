using System.Text;
using Mesh.Inference.Tokenization;

namespace Mesh.Inference.Tests.Tokenization;

/// <summary>
/// Text out: Decode inverts Encode, and streaming detokenization gives clients whole characters only,
/// adding up to exactly what Decode returns.
/// </summary>
public sealed class DetokenizationTests(TokenizerModelsFixture models) : IClassFixture<TokenizerModelsFixture>
{
    public static TheoryData<string> Vocabularies => ["stories260K", "llama2"];

    [Theory]
    [MemberData(nameof(Vocabularies))]
    public void Decode_OfEncode_GivesTheTextBack(string vocabulary)
    {
        var tokenizer = Pick(vocabulary);
        // U+2581 is SentencePiece's own space symbol, so it decodes as a space: the one char that cannot round-trip.
        foreach (string text in models.Corpus.Where(t => IsValidUtf16(t) && !t.Contains('\u2581', StringComparison.Ordinal)))
        {
            Assert.Equal(Json(text), Json(tokenizer.Decode(tokenizer.Encode(text, addBos: true))));
            Assert.Equal(Json(text), Json(tokenizer.Decode(tokenizer.Encode(text, addBos: false))));
        }
    }

    [Theory]
    [MemberData(nameof(Vocabularies))]
    public void Streaming_EveryPrefix_YieldsWholeCharactersAndAddsUpToDecode(string vocabulary)
    {
        var tokenizer = Pick(vocabulary);
        foreach (string text in models.Corpus.Where(IsValidUtf16).Take(600))
        {
            int[] ids = tokenizer.Encode(text, addBos: true);
            for (int length = 0; length <= ids.Length; length++)
            {
                var detokenizer = tokenizer.CreateStreamingDetokenizer();
                var streamed = new StringBuilder();
                foreach (int id in ids.AsSpan(0, length))
                {
                    string chunk = detokenizer.Append(id);
                    // The text is valid, so a chunk holds no replacement char and no half of a surrogate pair.
                    Assert.True(IsWholeCharacters(chunk), $"chunk {Json(chunk)} of {Json(text)} splits a character");
                    streamed.Append(chunk);
                }

                streamed.Append(detokenizer.Flush());
                Assert.Equal(Json(tokenizer.Decode(ids.AsSpan(0, length))), Json(streamed.ToString()));
            }
        }
    }

    [Fact]
    public void Streaming_HoldsBackAnEmojiUntilItsLastByte()
    {
        var tokenizer = models.Stories260K;
        int[] ids = tokenizer.Encode("😀", addBos: false);
        // stories260K has no emoji piece: the dummy-prefix space, then the four UTF-8 bytes F0 9F 98 80.
        Assert.Equal(5, ids.Length);

        var detokenizer = tokenizer.CreateStreamingDetokenizer();
        Assert.Equal(["", "", "", "", "😀"], ids.Select(detokenizer.Append));
        Assert.Equal("", detokenizer.Flush());
    }

    [Fact]
    public void InvalidBytes_BecomeReplacementCharacters_InDecodeAndStreamAlike()
    {
        var tokenizer = models.TinyRandom;
        int firstByte = tokenizer.Vocabulary.Pieces.ToList().IndexOf("<0x00>");
        // F0 starts a four-byte character that 'A' interrupts; the stream then ends inside E2 82.
        int[] ids = [firstByte + 0xF0, firstByte + 'A', firstByte + 0xE2, firstByte + 0x82];

        var detokenizer = tokenizer.CreateStreamingDetokenizer();
        string streamed = string.Concat(ids.Select(detokenizer.Append)) + detokenizer.Flush();

        Assert.Equal("\uFFFDA\uFFFD", tokenizer.Decode(ids));
        Assert.Equal(tokenizer.Decode(ids), streamed);
    }

    [Fact]
    public void Decode_DropsBosEosAndTheDummyPrefix_ButKeepsTheTextsOwnSpaces()
    {
        var tokenizer = models.Stories260K;
        Assert.Equal("Once upon a time", tokenizer.Decode([1, 403, 407, 261, 378, 2]));
        Assert.Equal(" Once", tokenizer.Decode(tokenizer.Encode(" Once", addBos: true)));
    }

    [Fact]
    public void StreamingAfterAPrompt_KeepsTheFirstGeneratedSpace()
    {
        var tokenizer = models.Stories260K;
        int[] prompt = tokenizer.Encode("Once upon a", addBos: true);
        int time = tokenizer.Encode("Once upon a time", addBos: true)[^1];

        Assert.Equal(" time", tokenizer.CreateStreamingDetokenizer(prompt).Append(time));
        Assert.Equal("time", tokenizer.CreateStreamingDetokenizer().Append(time));
        Assert.Equal("time", tokenizer.CreateStreamingDetokenizer([tokenizer.BosId]).Append(time));
    }

    [Fact]
    public void TokenText_ShowsPiecesReadably()
    {
        var tokenizer = models.TinyRandom;
        Assert.Equal("<s>", tokenizer.TokenText(tokenizer.BosId));
        Assert.Equal("<0x0A>", tokenizer.TokenText(tokenizer.Encode("\n", addBos: false)[^1]));
        Assert.Equal(" time", tokenizer.TokenText(tokenizer.Encode("time", addBos: false).Single()));
    }

    [Fact]
    public void IdsOutsideTheVocabulary_AreRejected()
    {
        var tokenizer = models.Stories260K;
        Assert.False(tokenizer.IsValid(512));
        Assert.False(tokenizer.IsValid(-1));
        Assert.True(tokenizer.IsValid(511));
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => tokenizer.Decode([1, 512]));
        Assert.Contains("0 to 511", error.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentOutOfRangeException>(() => tokenizer.CreateStreamingDetokenizer().Append(-1));
        Assert.Throws<ArgumentOutOfRangeException>(() => tokenizer.TokenText(512));
    }

    private SentencePieceTokenizer Pick(string vocabulary) => vocabulary == "llama2" ? models.TinyRandom : models.Stories260K;

    // Lone surrogates are encoded as U+FFFD (UTF-8 has no form for them), so such text cannot come back.
    private static bool IsValidUtf16(string text) =>
        !text.Contains('\uFFFD', StringComparison.Ordinal) && Encoding.UTF8.GetString(Encoding.UTF8.GetBytes(text)) == text;

    private static bool IsWholeCharacters(string chunk) => IsValidUtf16(chunk);

    // Escaped, so that a failure shows control characters and which code points differ.
    private static string Json(string text) => System.Text.Json.JsonSerializer.Serialize(text, JsonOptions);

    private static readonly System.Text.Json.JsonSerializerOptions JsonOptions = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.Default };
}
