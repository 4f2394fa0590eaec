using Google.Protobuf;
using System.Buffers;
using Microsoft.ML.Tokenizers;

namespace Mesh.Inference.Tokenization;

/// <summary>
/// SentencePiece BPE encoding done by Microsoft.ML.Tokenizers, on the mirror image of the text, so that it
/// gives exactly the ids of SentencePiece, llama2.c and llama.cpp.
/// </summary>
/// <remarks>
/// <para>
/// BPE repeatedly merges the adjacent pair of symbols that forms the highest-scored piece. When two
/// candidate pairs score the same (the same piece at overlapping places, as "oo" in "ooo"), SentencePiece,
/// llama2.c and llama.cpp merge the leftmost; Microsoft.ML.Tokenizers 2.0.1 merges the rightmost, so
/// "Mooo" becomes M|o|oo instead of M|oo|o, and the model sees ids it was not trained on.
/// </para>
/// <para>
/// Mirroring turns the one rule into the other. Reverse the text and every piece of the vocabulary (by
/// code point): adjacent symbols a·b become b'·a', whose concatenation b'a' is the mirror of ab, so it is
/// a piece exactly when ab is, with the same score. Every merge of the forward run has its mirror-image
/// merge, and "rightmost" among tied pairs of the mirrored text is "leftmost" in the original. Reversing
/// the resulting ids gives SentencePiece's segmentation. The library still does all the work (symbol
/// table, priority queue, byte fallback); this class only reverses its input and output. The
/// normalization that SentencePiece applies first (the dummy-prefix space, spaces as U+2581) is done
/// before, by <see cref="SentencePieceNormalization"/>, because in the mirror the prefix is a suffix.
/// </para>
/// <para>
/// One detail of the output needs undoing: byte fallback writes the UTF-8 bytes of a character missing
/// from the vocabulary in order, so after reversal each such character's bytes are backwards
/// (continuation bytes, then the lead byte). <see cref="RestoreByteOrder"/> turns each group back.
/// </para>
/// </remarks>
internal sealed class MirroredBpeEncoder
{
    // Above this many chars the mirrored text is rented rather than stack-allocated.
    private const int StackLimit = 512;

    private readonly LlamaTokenizer _mirror;
    private readonly int _firstByteId;

    public MirroredBpeEncoder(SentencePieceVocabulary vocabulary)
    {
        using var proto = new MemoryStream(SentencePieceModelFile.Build(vocabulary, mirrored: true).ToByteArray());
        _mirror = LlamaTokenizer.Create(proto, addBeginOfSentence: false, addEndOfSentence: false);
        // The vocabulary is validated: byte tokens, if any, are <0x00>..<0xFF> at consecutive ids.
        _firstByteId = -1;
        for (int id = 0; id < vocabulary.Count && _firstByteId < 0; id++)
        {
            _firstByteId = vocabulary.Kinds[id] == TokenKind.Byte ? id : -1;
        }
    }

    /// <summary>Appends the ids of <paramref name="normalized"/> (see <see cref="SentencePieceNormalization"/>) to <paramref name="ids"/>.</summary>
    public void Encode(ReadOnlySpan<char> normalized, List<int> ids)
    {
        char[]? rented = null;
        Span<char> mirrored = normalized.Length <= StackLimit ? stackalloc char[StackLimit] : (rented = ArrayPool<char>.Shared.Rent(normalized.Length));
        mirrored = mirrored[..normalized.Length];
        TextMirror.WriteReversed(normalized, mirrored);

        IReadOnlyList<int> mirroredIds = _mirror.EncodeToIds(mirrored, addBeginningOfSentence: false, addEndOfSentence: false, considerPreTokenization: false, considerNormalization: false);
        if (rented is not null)
        {
            ArrayPool<char>.Shared.Return(rented);
        }

        int start = ids.Count;
        for (int i = mirroredIds.Count - 1; i >= 0; i--)
        {
            ids.Add(mirroredIds[i]);
        }

        RestoreByteOrder(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(ids)[start..]);
    }

    /// <summary>Puts the UTF-8 bytes of each byte-fallback character back in order (see the remarks).</summary>
    private void RestoreByteOrder(Span<int> ids)
    {
        if (_firstByteId < 0)
        {
            return;
        }

        for (int i = 0; i < ids.Length; i++)
        {
            if (!IsContinuationByte(ids[i]))
            {
                continue;
            }

            // A reversed character: continuation bytes, then the lead byte that ends the group.
            int end = i;
            while (end + 1 < ids.Length && IsContinuationByte(ids[end + 1]))
            {
                end++;
            }

            if (end + 1 < ids.Length && IsByte(ids[end + 1]))
            {
                end++;
                ids[i..(end + 1)].Reverse();
            }

            i = end;
        }
    }

    private bool IsByte(int id) => (uint)(id - _firstByteId) < 256;

    private bool IsContinuationByte(int id) => IsByte(id) && (id - _firstByteId & 0xC0) == 0x80;
}
