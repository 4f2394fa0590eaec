namespace Mesh.Inference.Tokenization;

/// <summary>
/// Reverses text by Unicode code point (a surrogate pair stays in order), the transformation behind
/// <see cref="MirroredBpeEncoder"/>.
/// </summary>
internal static class TextMirror
{
    /// <summary>The code points of <paramref name="text"/> in reverse order.</summary>
    public static string Reverse(string text) =>
        string.Create(text.Length, text, static (destination, source) => WriteReversed(source, destination));

    /// <summary>
    /// Writes the SentencePiece input for <paramref name="text"/> mirrored: the dummy-prefix space plus the
    /// text, spaces escaped as U+2581, in reverse code-point order, into the first
    /// <paramref name="text"/>.Length + 1 chars of <paramref name="destination"/>. A lone surrogate
    /// becomes U+FFFD, as in <see cref="System.Text.Encoding.UTF8"/>, so the text is valid UTF-16.
    /// </summary>
    public static void WriteEscapedWithDummyPrefixReversed(ReadOnlySpan<char> text, Span<char> destination)
    {
        destination[text.Length] = SentencePieceVocabulary.SpaceSymbol;
        WriteReversed(text, destination[..text.Length], escapeSpaces: true);
    }

    /// <summary>Writes <paramref name="source"/> reversed into the same-length <paramref name="destination"/>.</summary>
    private static void WriteReversed(ReadOnlySpan<char> source, Span<char> destination, bool escapeSpaces = false)
    {
        int j = source.Length;
        for (int i = 0; i < source.Length; i++)
        {
            char c = source[i];
            if (char.IsHighSurrogate(c) && i + 1 < source.Length && char.IsLowSurrogate(source[i + 1]))
            {
                destination[j - 2] = c;
                destination[j - 1] = source[i + 1];
                j -= 2;
                i++;
            }
            else if (char.IsSurrogate(c))
            {
                destination[--j] = '\uFFFD';
            }
            else
            {
                destination[--j] = escapeSpaces && c == ' ' ? SentencePieceVocabulary.SpaceSymbol : c;
            }
        }
    }
}
