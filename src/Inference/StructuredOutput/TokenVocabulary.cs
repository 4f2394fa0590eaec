using System.Runtime.CompilerServices;
using Mesh.Inference.Tokenization;

namespace Mesh.Inference.StructuredOutput;

/// <summary>
/// What a constraint needs to know of a model's vocabulary: the UTF-8 bytes each token adds to the text
/// (byte-fallback tokens one byte, control tokens none), the bytes at the very start of a text (where
/// SentencePiece drops a normal piece's leading space), the end-of-sequence id, and the two tries.
/// </summary>
internal sealed class TokenVocabulary
{
    private static readonly ConditionalWeakTable<ITokenizer, TokenVocabulary> ByTokenizer = new();
    private readonly Lazy<TokenTrie> _trie;
    private readonly Lazy<TokenTrie> _startTrie;

    /// <param name="bytes">The bytes of each token id mid-text.</param>
    /// <param name="startBytes">The bytes of each token id as the first text of a sequence.</param>
    /// <param name="eosId">End-of-sequence id: allowed exactly when the value is complete.</param>
    public TokenVocabulary(byte[][] bytes, byte[][] startBytes, int eosId)
    {
        Bytes = bytes;
        StartBytes = startBytes;
        EosId = eosId;
        _trie = new(() => new TokenTrie(Bytes));
        _startTrie = new(() => new TokenTrie(StartBytes));
    }

    public byte[][] Bytes { get; }

    public byte[][] StartBytes { get; }

    public int EosId { get; }

    public int Count => Bytes.Length;

    public TokenTrie Trie => _trie.Value;

    public TokenTrie StartTrie => _startTrie.Value;

    /// <summary>Whether a text made of <paramref name="precedingIds"/> is still empty (no token had bytes).</summary>
    public bool AtStart(ReadOnlySpan<int> precedingIds)
    {
        foreach (var id in precedingIds)
        {
            if ((uint)id < (uint)Bytes.Length && Bytes[id].Length > 0)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>The vocabulary of a tokenizer (built once per tokenizer, then shared).</summary>
    public static TokenVocabulary For(ITokenizer tokenizer) => ByTokenizer.GetValue(tokenizer, Build);

    private static TokenVocabulary Build(ITokenizer tokenizer)
    {
        var bytes = new byte[tokenizer.VocabSize][];
        var start = new byte[tokenizer.VocabSize][];
        for (var id = 0; id < bytes.Length; id++)
        {
            var atStart = false;
            bytes[id] = tokenizer.TokenBytes(id, ref atStart).ToArray();
            atStart = true;
            start[id] = tokenizer.TokenBytes(id, ref atStart).ToArray();
        }

        return new TokenVocabulary(bytes, start, tokenizer.EosId);
    }
}
