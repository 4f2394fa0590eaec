namespace Mesh.Inference.Tokenization;

/// <summary>
/// Where normalized text can be cut into words that BPE segments independently, with exactly the result
/// of segmenting the whole text: before each U+2581 that follows another character.
/// </summary>
/// <remarks>
/// BPE only ever merges adjacent symbols into a piece of the vocabulary, so a symbol can straddle a cut
/// "x|▁" only if some piece contains U+2581 right after another character. Llama vocabularies have none
/// (SentencePiece trains them with split_by_whitespace; whitespace runs are pieces of U+2581 only), and
/// <see cref="AllowsWordSplitting"/> checks a vocabulary for it. When no merge crosses a cut, each word's
/// merges depend only on that word, and their order within it (score, then leftmost) is the same as in
/// the whole text. Splitting keeps the merge queue small and lets <see cref="WordEncodingCache"/> reuse
/// the ids of words seen before.
/// </remarks>
internal static class WordBoundaries
{
    /// <summary>Whether no piece of <paramref name="vocabulary"/> has U+2581 after another character.</summary>
    public static bool AllowsWordSplitting(SentencePieceVocabulary vocabulary)
    {
        foreach (string piece in vocabulary.Pieces)
        {
            for (int i = 1; i < piece.Length; i++)
            {
                if (piece[i] == SentencePieceVocabulary.SpaceSymbol && piece[i - 1] != SentencePieceVocabulary.SpaceSymbol)
                {
                    return false;
                }
            }
        }

        return true;
    }

    /// <summary>The end of the word that starts at <paramref name="start"/> in <paramref name="normalized"/>.</summary>
    public static int WordEnd(ReadOnlySpan<char> normalized, int start)
    {
        for (int i = start + 1; i < normalized.Length; i++)
        {
            if (normalized[i] == SentencePieceVocabulary.SpaceSymbol && normalized[i - 1] != SentencePieceVocabulary.SpaceSymbol)
            {
                return i;
            }
        }

        return normalized.Length;
    }
}
