using System.Text;

namespace Mesh.Inference.Tokenization;

/// <summary>
/// Turns generated tokens into text as they arrive, for streaming responses. A character may be split
/// over several byte-fallback tokens (an emoji is four); <see cref="Append"/> returns only whole
/// characters and keeps the incomplete tail for the next token, so a client never receives half a
/// character. The concatenation of everything returned, <see cref="Flush"/> included, equals
/// <see cref="ITokenizer.Decode"/> of the same ids. One instance serves one stream.
/// </summary>
public sealed class StreamingDetokenizer
{
    private readonly ITokenizer _tokenizer;

    // .NET's UTF-8 decoder holds back an incomplete sequence between calls and replaces invalid bytes
    // with U+FFFD exactly as a one-shot decode does, which is what makes streaming equal Decode.
    private readonly Decoder _decoder = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: false).GetDecoder();
    private bool _atStart;

    internal StreamingDetokenizer(ITokenizer tokenizer, bool atStart)
    {
        _tokenizer = tokenizer;
        _atStart = atStart;
    }

    /// <summary>A detokenizer for the tokens that follow <paramref name="precedingIds"/> in <paramref name="tokenizer"/>'s text.</summary>
    public static StreamingDetokenizer After(ITokenizer tokenizer, ReadOnlySpan<int> precedingIds)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        bool atStart = true;
        foreach (int id in precedingIds)
        {
            _ = tokenizer.TokenBytes(id, ref atStart);
        }

        return new StreamingDetokenizer(tokenizer, atStart);
    }

    /// <summary>The text completed by token <paramref name="id"/>; empty while a character is still incomplete.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The id is outside the vocabulary.</exception>
    public string Append(int id) => Decode(_tokenizer.TokenBytes(id, ref _atStart), flush: false);

    /// <summary>Ends the stream: whatever is held back, an incomplete character becoming U+FFFD.</summary>
    public string Flush() => Decode([], flush: true);

    private string Decode(ReadOnlySpan<byte> bytes, bool flush)
    {
        int count = _decoder.GetCharCount(bytes, flush);
        Span<char> chars = count <= 256 ? stackalloc char[256] : new char[count];
        int written = _decoder.GetChars(bytes, chars, flush);
        return written == 0 ? string.Empty : new string(chars[..written]);
    }
}
