using System.Text;
using Mesh.Inference.Models;
using Microsoft.ML.Tokenizers;

namespace Mesh.Inference.Tokenization;

/// <summary>
/// Byte-level BPE, the tokenizer of GPT-2, Llama 3, Qwen 2/3, SmolLM, DeepSeek and Mistral-Nemo models
/// (GGUF <c>tokenizer.ggml.model = "gpt2"</c>), giving the ids llama.cpp gives for the same file:
/// special tokens cut out first (<see cref="SpecialTokenSplitter"/>), the rest split into words by the
/// named pre-tokenizer (<see cref="BpePreTokenizer"/>), each word spelled in GPT-2's byte alphabet
/// (<see cref="ByteLevelAlphabet"/>) and merged by Microsoft.ML.Tokenizers' <see cref="BpeTokenizer"/>
/// in the order of the file's merge list (lowest rank first, leftmost among equals, as llama.cpp).
/// Immutable and thread-safe.
/// </summary>
public sealed class ByteLevelBpeTokenizer : ITokenizer
{
    private readonly BpeVocabulary _vocabulary;
    private readonly BpeTokenizer _bpe;
    private readonly BpePreTokenizer _preTokenizer;
    private readonly SpecialTokenSplitter _specials;
    private readonly Dictionary<string, int> _ids;
    private readonly byte[][] _tokenBytes;

    private ByteLevelBpeTokenizer(BpeVocabulary vocabulary, BpePreTokenizer preTokenizer)
    {
        _vocabulary = vocabulary;
        _preTokenizer = preTokenizer;
        _specials = new SpecialTokenSplitter(vocabulary.Tokens, vocabulary.Kinds);
        _ids = new Dictionary<string, int>(vocabulary.Tokens.Count, StringComparer.Ordinal);
        for (int id = 0; id < vocabulary.Tokens.Count; id++)
        {
            _ids[vocabulary.Tokens[id]] = id; // a duplicated text maps to its last id, as in llama.cpp
        }

        _tokenBytes = new byte[vocabulary.Tokens.Count][];
        for (int id = 0; id < _tokenBytes.Length; id++)
        {
            _tokenBytes[id] = vocabulary.Kinds[id] switch
            {
                TokenKind.Normal => ByteLevelAlphabet.Decode(vocabulary.Tokens[id]),
                TokenKind.UserDefined => Encoding.UTF8.GetBytes(vocabulary.Tokens[id]),
                _ => [],
            };
        }

        _bpe = BpeTokenizer.Create(new BpeOptions(_ids)
        {
            Merges = vocabulary.Merges,
            ByteLevel = false, // words arrive already spelled in the byte alphabet
        });
        EndOfGenerationIds = EndOfGeneration.Compute(vocabulary.Tokens, vocabulary.EosId, vocabulary.EndOfGenerationIds);
    }

    /// <inheritdoc/>
    public int VocabSize => _vocabulary.Tokens.Count;

    /// <inheritdoc/>
    public int BosId => _vocabulary.BosId;

    /// <inheritdoc/>
    public int EosId => _vocabulary.EosId;

    /// <inheritdoc/>
    public bool AddBosByDefault => _vocabulary.AddBos;

    /// <inheritdoc/>
    public bool AddEosByDefault => _vocabulary.AddEos;

    /// <inheritdoc/>
    public IReadOnlySet<int> EndOfGenerationIds { get; }

    /// <inheritdoc/>
    public string? ChatTemplate => _vocabulary.ChatTemplate;

    /// <summary>The pre-tokenizer in use (<c>tokenizer.ggml.pre</c>).</summary>
    public BpePreTokenizer PreTokenizer => _preTokenizer;

    /// <summary>The vocabulary this tokenizer was built from.</summary>
    public BpeVocabulary Vocabulary => _vocabulary;

    /// <summary>Builds the tokenizer for <paramref name="vocabulary"/>.</summary>
    /// <exception cref="ArgumentException">The vocabulary is inconsistent or names an unknown pre-tokenizer.</exception>
    public static ByteLevelBpeTokenizer Create(BpeVocabulary vocabulary)
    {
        ArgumentNullException.ThrowIfNull(vocabulary);
        if (vocabulary.FindProblem() is { } problem)
        {
            throw new ArgumentException($"The vocabulary cannot be used: {problem}.", nameof(vocabulary));
        }

        if (!BpePreTokenizer.TryCreate(vocabulary.PreTokenizer, out var preTokenizer))
        {
            throw new ArgumentException(UnknownPreTokenizer(vocabulary.PreTokenizer), nameof(vocabulary));
        }

        try
        {
            return new ByteLevelBpeTokenizer(vocabulary, preTokenizer!);
        }
        catch (Exception e) when (e is InvalidOperationException or ArgumentException or KeyNotFoundException or FormatException)
        {
            // Microsoft.ML.Tokenizers may refuse a merge whose parts or result are not tokens.
            throw new ArgumentException($"The merges cannot be used: {e.Message}", nameof(vocabulary), e);
        }
    }

    /// <summary>What to tell a user whose file names a pre-tokenizer Mesh does not know.</summary>
    public static string UnknownPreTokenizer(string? name) =>
        $"pre-tokenizer \"{name}\" is not supported; Mesh knows {string.Join(", ", BpePreTokenizer.Names.Order(StringComparer.Ordinal))}";

    /// <inheritdoc/>
    public int[] Encode(string text, bool addBos) => Encode(text, addBos, addEos: false, parseSpecial: false);

    /// <inheritdoc/>
    public int[] Encode(string text, bool addBos, bool parseSpecial) => Encode(text, addBos, addEos: false, parseSpecial);

    /// <summary>
    /// The ids of <paramref name="text"/>: BOS first when <paramref name="addBos"/>, EOS last when
    /// <paramref name="addEos"/>, control-token text parsed when <paramref name="parseSpecial"/>. Lone
    /// surrogates are encoded as U+FFFD, as UTF-8 conversion does.
    /// </summary>
    public int[] Encode(string text, bool addBos, bool addEos, bool parseSpecial) => Encode(text, addBos, addEos, parseSpecial, plainSpans: null);

    /// <inheritdoc/>
    public int[] EncodeRendered(string text, bool addBos, IReadOnlyList<TextSpan> plainSpans)
    {
        ArgumentNullException.ThrowIfNull(plainSpans);
        return Encode(text, addBos, addEos: false, parseSpecial: true, plainSpans);
    }

    private int[] Encode(string text, bool addBos, bool addEos, bool parseSpecial, IReadOnlyList<TextSpan>? plainSpans)
    {
        ArgumentNullException.ThrowIfNull(text);
        text = ReplaceLoneSurrogates(text); // one U+FFFD for each lone surrogate: the spans still fit
        var ids = new List<int>(text.Length / 3 + 2);
        if (addBos)
        {
            ids.Add(BosId);
        }

        var words = new List<(int Start, int Length)>();
        foreach (var (start, length, tokenId) in _specials.Split(text, parseSpecial, plainSpans))
        {
            if (tokenId >= 0)
            {
                ids.Add(tokenId);
                continue;
            }

            words.Clear();
            _preTokenizer.Split(text, start, length, words);
            foreach (var (wordStart, wordLength) in words)
            {
                EncodeWord(text.AsSpan(wordStart, wordLength), ids);
            }
        }

        if (addEos)
        {
            ids.Add(EosId);
        }

        return [.. ids];
    }

    /// <inheritdoc/>
    public string Decode(ReadOnlySpan<int> ids)
    {
        var bytes = new List<byte>(ids.Length * 4);
        bool atStart = true;
        foreach (int id in ids)
        {
            bytes.AddRange(TokenBytes(id, ref atStart));
        }

        return Encoding.UTF8.GetString(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(bytes));
    }

    /// <summary>
    /// One token for display: a normal token's text (its bytes as UTF-8, U+FFFD where a token holds part
    /// of a character), other tokens by name (<c>&lt;|endoftext|&gt;</c>).
    /// </summary>
    public string TokenText(int id)
    {
        ThrowIfInvalid(id);
        return _vocabulary.Kinds[id] == TokenKind.Normal ? Encoding.UTF8.GetString(_tokenBytes[id]) : _vocabulary.Tokens[id];
    }

    /// <inheritdoc/>
    public bool IsValid(int id) => (uint)id < (uint)_vocabulary.Tokens.Count;

    /// <inheritdoc/>
    public bool IsEndOfGeneration(int id) => EndOfGenerationIds.Contains(id);

    /// <summary>
    /// The bytes of a token: a normal token's byte-alphabet text turned back into bytes, a user-defined
    /// token's text, nothing for control tokens (llama.cpp's <c>token_to_piece</c> without <c>special</c>).
    /// Byte-level BPE has no dummy prefix, so <paramref name="atStart"/> changes nothing.
    /// </summary>
    public ReadOnlySpan<byte> TokenBytes(int id, ref bool atStart)
    {
        ThrowIfInvalid(id);
        atStart &= _tokenBytes[id].Length == 0;
        return _tokenBytes[id];
    }

    /// <inheritdoc/>
    public StreamingDetokenizer CreateStreamingDetokenizer() => StreamingDetokenizer.After(this, []);

    /// <inheritdoc/>
    public StreamingDetokenizer CreateStreamingDetokenizer(ReadOnlySpan<int> precedingIds) => StreamingDetokenizer.After(this, precedingIds);

    private void EncodeWord(ReadOnlySpan<char> word, List<int> ids)
    {
        int byteCount = Encoding.UTF8.GetByteCount(word);
        Span<byte> utf8 = byteCount <= 512 ? stackalloc byte[byteCount] : new byte[byteCount];
        Encoding.UTF8.GetBytes(word, utf8);
        string spelled = ByteLevelAlphabet.Encode(utf8);
        if (_preTokenizer.IgnoreMerges && _ids.TryGetValue(spelled, out int whole))
        {
            ids.Add(whole);
            return;
        }

        ids.AddRange(_bpe.EncodeToIds(spelled, considerPreTokenization: false, considerNormalization: false));
    }

    private static string ReplaceLoneSurrogates(string text)
    {
        int i = 0;
        while (i < text.Length && Rune.DecodeFromUtf16(text.AsSpan(i), out _, out int used) == System.Buffers.OperationStatus.Done)
        {
            i += used;
        }

        if (i == text.Length)
        {
            return text;
        }

        var sb = new StringBuilder(text.Length);
        foreach (var rune in EnumerateRunesLossy(text))
        {
            sb.Append(rune.ToString());
        }

        return sb.ToString();
    }

    private static IEnumerable<Rune> EnumerateRunesLossy(string text)
    {
        for (int i = 0; i < text.Length;)
        {
            Rune.DecodeFromUtf16(text.AsSpan(i), out var rune, out int used); // invalid → U+FFFD, used = 1
            yield return rune;
            i += used;
        }
    }

    private void ThrowIfInvalid(int id)
    {
        if (!IsValid(id))
        {
            throw new ArgumentOutOfRangeException(nameof(id), id, $"Token id {id} is outside the vocabulary; valid ids are 0 to {VocabSize - 1}.");
        }
    }
}
