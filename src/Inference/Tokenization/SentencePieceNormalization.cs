namespace Mesh.Inference.Tokenization;

/// <summary>
/// What SentencePiece does to text before BPE with Llama's settings (identity normalizer, dummy prefix,
/// whitespace kept): one U+2581 in front, every ' ' replaced by U+2581. Nothing else changes; tabs and
/// newlines stay as they are. Lone surrogates become U+FFFD, as in any UTF-8 conversion (llama.cpp receives
/// UTF-8), so the text handed on is valid UTF-16 and reverses safely.
/// </summary>
internal static class SentencePieceNormalization
{
    /// <summary>Length of the normalized form of a text of <paramref name="textLength"/> chars.</summary>
    public static int NormalizedLength(int textLength) => textLength + 1;

    /// <summary>Writes the normalized form of <paramref name="text"/> into <paramref name="destination"/>.</summary>
    public static void Normalize(ReadOnlySpan<char> text, Span<char> destination)
    {
        destination[0] = SentencePieceVocabulary.SpaceSymbol;
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                destination[i + 1] = c;
                destination[i + 2] = text[i + 1];
                i++;
            }
            else
            {
                destination[i + 1] = c == ' ' ? SentencePieceVocabulary.SpaceSymbol : char.IsSurrogate(c) ? '\uFFFD' : c;
            }
        }
    }
}
