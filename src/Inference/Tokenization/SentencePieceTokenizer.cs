using System.Buffers;
using System.Runtime.InteropServices;
using System.Text;

namespace Mesh.Inference.Tokenization;

/// <summary>
/// The tokenizer of Llama-family models: SentencePiece BPE with byte fallback, built from the vocabulary
/// a model file carries. Encoding gives the ids llama.cpp and llama2.c give (the parity tests check it);
/// decoding and streaming detokenization share one mapping from token to UTF-8 bytes. Immutable and
/// safe to use from many requests at once.
/// </summary>
public sealed class SentencePieceTokenizer : ITokenizer
{
    // What SentencePiece's decoder prints for <unk> (its unk_surface default): " ⁇ ".
    private static readonly byte[] UnknownSurface = Encoding.UTF8.GetBytes(" \u2047 ");

    private readonly SentencePieceVocabulary _vocabulary;
    private readonly MirroredBpeEncoder _encoder;
    private readonly WordEncodingCache? _wordCache;
    private readonly byte[][] _tokenBytes;
    private readonly string[] _tokenText;
    private readonly SpecialTokenSplitter _specials;

    private SentencePieceTokenizer(SentencePieceVocabulary vocabulary, IEnumerable<int> endOfGeneration, string? chatTemplate)
    {
        _vocabulary = vocabulary;
        _specials = new SpecialTokenSplitter(vocabulary.Pieces, vocabulary.Kinds);
        EndOfGenerationIds = EndOfGeneration.Compute(vocabulary.Pieces, vocabulary.EosId, endOfGeneration);
        ChatTemplate = chatTemplate;
        _encoder = new MirroredBpeEncoder(vocabulary);
        _wordCache = WordBoundaries.AllowsWordSplitting(vocabulary) ? new WordEncodingCache() : null;
        _tokenBytes = new byte[vocabulary.Count][];
        _tokenText = new string[vocabulary.Count];
        for (int id = 0; id < vocabulary.Count; id++)
        {
            string piece = vocabulary.Pieces[id];
            TokenKind kind = vocabulary.Kinds[id];
            _tokenBytes[id] = kind switch
            {
                TokenKind.Byte => [BytePiece.TryParse(piece, out byte value) ? value : (byte)0],
                TokenKind.Control => [],
                TokenKind.Unknown => UnknownSurface,
                _ => Encoding.UTF8.GetBytes(piece.Replace(SentencePieceVocabulary.SpaceSymbol, ' ')),
            };
            _tokenText[id] = kind is TokenKind.Normal or TokenKind.UserDefined or TokenKind.Unused
                ? piece.Replace(SentencePieceVocabulary.SpaceSymbol, ' ')
                : piece;
        }
    }

    /// <summary>Number of tokens in the vocabulary; valid ids are 0 to VocabSize - 1.</summary>
    public int VocabSize => _vocabulary.Count;

    /// <summary>Beginning-of-sequence token id.</summary>
    public int BosId => _vocabulary.BosId;

    /// <summary>End-of-sequence token id; generation stops when the model produces it.</summary>
    public int EosId => _vocabulary.EosId;

    /// <summary>Whether the model's prompts start with BOS unless a caller says otherwise.</summary>
    public bool AddBosByDefault => _vocabulary.AddBos;

    /// <summary>Always false: SentencePiece Llama vocabularies do not end prompts with EOS.</summary>
    public bool AddEosByDefault => false;

    /// <inheritdoc/>
    public IReadOnlySet<int> EndOfGenerationIds { get; }

    /// <inheritdoc/>
    public string? ChatTemplate { get; }

    /// <summary>The vocabulary this tokenizer was built from.</summary>
    public SentencePieceVocabulary Vocabulary => _vocabulary;

    /// <summary>
    /// Builds a tokenizer from a vocabulary read out of a model file; <paramref name="endOfGeneration"/>
    /// adds the ids metadata names as ending a turn (<c>eot</c>, <c>eom</c>) to EOS and the tokens
    /// <see cref="EndOfGeneration"/> knows by text.
    /// </summary>
    /// <exception cref="ArgumentException">The vocabulary is inconsistent (see <see cref="SentencePieceVocabulary.FindProblem"/>).</exception>
    public static SentencePieceTokenizer Create(SentencePieceVocabulary vocabulary, IEnumerable<int>? endOfGeneration = null, string? chatTemplate = null)
    {
        ArgumentNullException.ThrowIfNull(vocabulary);
        if (vocabulary.FindProblem() is { } problem)
        {
            throw new ArgumentException($"The vocabulary cannot be used: {problem}.", nameof(vocabulary));
        }

        return new SentencePieceTokenizer(vocabulary, endOfGeneration ?? [], chatTemplate);
    }

    /// <summary>Loads a SentencePiece BPE <c>tokenizer.model</c> file, such as Llama 2's.</summary>
    /// <exception cref="Models.ModelFormatException">The file is unreadable or not a supported SentencePiece model.</exception>
    public static SentencePieceTokenizer FromModelFile(string path) => Create(SentencePieceModelFile.Read(path));

    /// <summary>
    /// The token ids of <paramref name="text"/>, preceded by BOS when <paramref name="addBos"/>. The empty
    /// text is no tokens (just BOS), as in llama.cpp; any other text gets SentencePiece's dummy-prefix
    /// space. Lone surrogates are encoded as U+FFFD, as UTF-8 conversion does.
    /// </summary>
    public int[] Encode(string text, bool addBos) => Encode(text, addBos, parseSpecial: false);

    /// <summary>
    /// As <see cref="Encode(string, bool)"/>, with user-defined tokens always and control tokens when
    /// <paramref name="parseSpecial"/> taken out of the text first (llama.cpp's <c>tokenizer_st_partition</c>);
    /// every text piece between them gets the dummy-prefix space, as in llama.cpp.
    /// </summary>
    public int[] Encode(string text, bool addBos, bool parseSpecial)
    {
        ArgumentNullException.ThrowIfNull(text);
        return !parseSpecial && !_specials.HasUserDefined ? EncodeText(text, addBos) : EncodeSplit(text, addBos, parseSpecial, plainSpans: null);
    }

    /// <inheritdoc/>
    public int[] EncodeRendered(string text, bool addBos, IReadOnlyList<TextSpan> plainSpans)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(plainSpans);
        return EncodeSplit(text, addBos, parseSpecial: true, plainSpans);
    }

    private int[] EncodeSplit(string text, bool addBos, bool parseSpecial, IReadOnlyList<TextSpan>? plainSpans)
    {
        var ids = new List<int>();
        if (addBos)
        {
            ids.Add(BosId);
        }

        foreach (var (start, length, tokenId) in _specials.Split(text, parseSpecial, plainSpans))
        {
            if (tokenId >= 0)
            {
                ids.Add(tokenId);
            }
            else
            {
                ids.AddRange(EncodeText(text.Substring(start, length), addBos: false));
            }
        }

        return [.. ids];
    }

    private int[] EncodeText(string text, bool addBos)
    {
        // Answered here, not by the library: Microsoft.ML.Tokenizers 2.0.1 returns no ids for "" even with
        // BOS on, while llama.cpp (and every model's prompt format) expects [BOS].
        if (text.Length == 0)
        {
            return addBos ? [BosId] : [];
        }

        int length = SentencePieceNormalization.NormalizedLength(text.Length);
        char[] normalizedBuffer = ArrayPool<char>.Shared.Rent(length);
        try
        {
            Span<char> normalized = normalizedBuffer.AsSpan(0, length);
            SentencePieceNormalization.Normalize(text, normalized);
            var ids = new List<int>(length / 3 + 2);
            if (addBos)
            {
                ids.Add(BosId);
            }

            if (_wordCache is null)
            {
                _encoder.Encode(normalized, ids);
                return [.. ids];
            }

            for (int start = 0, end; start < normalized.Length; start = end)
            {
                end = WordBoundaries.WordEnd(normalized, start);
                ReadOnlySpan<char> word = normalized[start..end];
                if (_wordCache.TryGet(word, out int[]? cached))
                {
                    ids.AddRange(cached);
                    continue;
                }

                int first = ids.Count;
                _encoder.Encode(word, ids);
                _wordCache.Add(word, CollectionsMarshal.AsSpan(ids)[first..]);
            }

            return [.. ids];
        }
        finally
        {
            ArrayPool<char>.Shared.Return(normalizedBuffer);
        }
    }

    /// <summary>
    /// The text of <paramref name="ids"/>. Control tokens (BOS, EOS) have no text; byte tokens are joined
    /// into UTF-8 and bytes that do not form a character become U+FFFD; the space the encoder put in front
    /// of the text (the dummy prefix) is removed from the first token that has text, as llama.cpp and
    /// llama2.c do.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">An id is outside the vocabulary.</exception>
    public string Decode(ReadOnlySpan<int> ids)
    {
        var bytes = new List<byte>(ids.Length * 4);
        bool atStart = true;
        foreach (int id in ids)
        {
            bytes.AddRange(TokenBytes(id, ref atStart));
        }

        return Encoding.UTF8.GetString(CollectionsMarshal.AsSpan(bytes));
    }

    /// <summary>
    /// A readable form of one token for log-probabilities: the piece with spaces as ' ', byte tokens as
    /// <c>&lt;0x0A&gt;</c>, control tokens by name (<c>&lt;s&gt;</c>).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The id is outside the vocabulary.</exception>
    public string TokenText(int id)
    {
        ThrowIfInvalid(id);
        return _tokenText[id];
    }

    /// <summary>Whether <paramref name="id"/> is a token of this vocabulary.</summary>
    public bool IsValid(int id) => (uint)id < (uint)_vocabulary.Count;

    /// <inheritdoc/>
    public bool IsEndOfGeneration(int id) => EndOfGenerationIds.Contains(id);

    /// <summary>A detokenizer for one stream of generated tokens, starting at the beginning of a text.</summary>
    public StreamingDetokenizer CreateStreamingDetokenizer() => StreamingDetokenizer.After(this, []);

    /// <summary>
    /// A detokenizer for tokens generated after <paramref name="precedingIds"/> (the prompt): the first
    /// generated token keeps its leading space unless nothing before it has text.
    /// </summary>
    public StreamingDetokenizer CreateStreamingDetokenizer(ReadOnlySpan<int> precedingIds) => StreamingDetokenizer.After(this, precedingIds);

    /// <summary>
    /// The UTF-8 bytes token <paramref name="id"/> contributes to a text. <paramref name="atStart"/> says
    /// no earlier token had text; then a normal piece's leading space is the dummy prefix and is dropped.
    /// Decode and the streaming detokenizer both go through here, so they cannot disagree.
    /// </summary>
    public ReadOnlySpan<byte> TokenBytes(int id, ref bool atStart)
    {
        ThrowIfInvalid(id);
        ReadOnlySpan<byte> bytes = _tokenBytes[id];
        if (bytes.IsEmpty)
        {
            return bytes;
        }

        if (atStart)
        {
            atStart = false;
            if (bytes[0] == (byte)' ' && _vocabulary.Kinds[id] == TokenKind.Normal)
            {
                bytes = bytes[1..];
            }
        }

        return bytes;
    }

    private void ThrowIfInvalid(int id)
    {
        if (!IsValid(id))
        {
            throw new ArgumentOutOfRangeException(nameof(id), id, $"Token id {id} is outside the vocabulary; valid ids are 0 to {VocabSize - 1}.");
        }
    }
}
