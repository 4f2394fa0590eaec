namespace Mesh.Inference.Tokenization;

/// <summary>
/// A SentencePiece BPE vocabulary as model files carry it: one entry per token id, the pieces in
/// SentencePiece form (U+2581 for a space, byte pieces as <c>&lt;0x0A&gt;</c>), their merge scores and kinds,
/// and the ids of the reserved tokens. Readers for llama2.c tokenizer files, GGUF metadata and
/// SentencePiece <c>tokenizer.model</c> files all produce this one shape, and
/// <see cref="SentencePieceTokenizer.Create"/> builds a tokenizer from it.
/// </summary>
/// <param name="Pieces">The piece of each token id.</param>
/// <param name="Scores">BPE merge priority of each piece: higher merges first.</param>
/// <param name="Kinds">The kind of each piece.</param>
/// <param name="BosId">Beginning-of-sequence token id.</param>
/// <param name="EosId">End-of-sequence token id.</param>
/// <param name="UnkId">Unknown token id.</param>
/// <param name="AddBos">Whether prompts for this model start with BOS unless the caller says otherwise.</param>
public sealed record SentencePieceVocabulary(
    IReadOnlyList<string> Pieces,
    IReadOnlyList<float> Scores,
    IReadOnlyList<TokenKind> Kinds,
    int BosId,
    int EosId,
    int UnkId,
    bool AddBos)
{
    /// <summary>U+2581 LOWER ONE EIGHTH BLOCK, SentencePiece's stand-in for a space inside pieces.</summary>
    public const char SpaceSymbol = '\u2581';

    /// <summary>Number of tokens.</summary>
    public int Count => Pieces.Count;

    /// <summary>
    /// Checks that the vocabulary is internally consistent and returns the first problem found, or
    /// <see langword="null"/>; readers turn a problem into an error that names their file.
    /// </summary>
    public string? FindProblem()
    {
        if (Pieces.Count == 0)
        {
            return "the vocabulary is empty";
        }

        if (Scores.Count != Pieces.Count || Kinds.Count != Pieces.Count)
        {
            return $"{Pieces.Count} pieces but {Scores.Count} scores and {Kinds.Count} token kinds; each token needs one of each";
        }

        foreach (var (name, id) in new[] { ("BOS", BosId), ("EOS", EosId), ("unknown", UnkId) })
        {
            if ((uint)id >= (uint)Pieces.Count)
            {
                return $"the {name} token id {id} is outside the vocabulary of {Pieces.Count} tokens";
            }
        }

        // Byte fallback maps byte b to the id of <0x00> plus b (llama.cpp, SentencePiece and
        // Microsoft.ML.Tokenizers all rely on it), so byte pieces must be the 256 pieces in order.
        int firstByte = -1, byteCount = 0;
        for (int id = 0; id < Kinds.Count; id++)
        {
            if (!Enum.IsDefined(Kinds[id]))
            {
                return $"token {id} has kind {(int)Kinds[id]}; kinds are 1 to 6";
            }

            if (Kinds[id] != TokenKind.Byte)
            {
                continue;
            }

            if (!BytePiece.TryParse(Pieces[id], out byte value))
            {
                return $"token {id} is a byte token but its piece \"{Pieces[id]}\" is not of the form <0xHH>";
            }

            if (byteCount == 0)
            {
                firstByte = id - value;
            }

            if (id - value != firstByte)
            {
                return $"byte token {id} ({Pieces[id]}) is out of order; the 256 byte tokens must be consecutive, <0x00> to <0xFF>";
            }

            byteCount++;
        }

        if (byteCount is not 0 and not 256)
        {
            return $"the vocabulary has {byteCount} byte tokens; byte fallback needs all 256";
        }

        return null;
    }
}
