using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace Mesh.Inference.Tokenization;

/// <summary>
/// Splits text into the words byte-level BPE encodes one by one, with the regular expressions llama.cpp
/// uses for the pre-tokenizer a GGUF file names in <c>tokenizer.ggml.pre</c> (llama-vocab.cpp,
/// <c>llm_tokenizer_bpe</c>). Several expressions apply in turn, each to the pieces the previous one
/// left; text an expression does not match stays a piece of its own (llama.cpp's
/// <c>unicode_regex_split</c>). Like llama.cpp, matching runs on one character per code point, with
/// non-ASCII whitespace read as <c>\v</c>: .NET regular expressions see UTF-16, so a code point beyond
/// U+FFFF is matched through a stand-in of its class (letter, number, other). Immutable.
/// </summary>
public sealed class BpePreTokenizer
{
    private const string Gpt2 = @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)";
    private const string Contractions = "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])";

    // Stand-ins for code points beyond U+FFFF, chosen outside every explicit range below.
    private const char LetterStandIn = '\uF900';  // CJK compatibility ideograph, Lo
    private const char NumberStandIn = '\u0660';  // Arabic-Indic digit zero, Nd
    private const char OtherStandIn = '\uFFFC';   // object replacement character, So

    private static readonly Dictionary<string, (string Kind, string[] Patterns, bool IgnoreMerges, bool AddBos)> Known = BuildKnown();

    private readonly Regex[] _expressions;

    private BpePreTokenizer(string name, string kind, string[] patterns, bool ignoreMerges, bool addBos)
    {
        Name = name;
        Kind = kind;
        IgnoreMerges = ignoreMerges;
        AddBosByDefault = addBos;
        _expressions = Array.ConvertAll(patterns, p => new Regex(p, RegexOptions.CultureInvariant | RegexOptions.Compiled));
    }

    /// <summary>The <c>tokenizer.ggml.pre</c> name this was created from.</summary>
    public string Name { get; }

    /// <summary>llama.cpp's pre-tokenizer type the name maps to (several names share one).</summary>
    public string Kind { get; }

    /// <summary>Whether a word that is itself a token is emitted whole, without merging (Llama 3, Tekken).</summary>
    public bool IgnoreMerges { get; }

    /// <summary>llama.cpp's <c>add_bos</c> default for this pre-tokenizer, before <c>tokenizer.ggml.add_bos_token</c>.</summary>
    public bool AddBosByDefault { get; }

    /// <summary>The names Mesh recognises, as <c>tokenizer.ggml.pre</c> spells them.</summary>
    public static IReadOnlyCollection<string> Names => Known.Keys;

    /// <summary>The pre-tokenizer named <paramref name="name"/>; null or empty is llama.cpp's default.</summary>
    /// <returns>False for a name Mesh does not know.</returns>
    public static bool TryCreate(string? name, out BpePreTokenizer? preTokenizer)
    {
        name = string.IsNullOrEmpty(name) ? "default" : name;
        preTokenizer = Known.TryGetValue(name, out var known)
            ? new BpePreTokenizer(name, known.Kind, known.Patterns, known.IgnoreMerges, known.AddBos)
            : null;
        return preTokenizer is not null;
    }

    /// <summary>
    /// Appends the words of <paramref name="text"/>[<paramref name="start"/>..+<paramref name="length"/>]
    /// to <paramref name="words"/> as (start, length) in UTF-16 units of <paramref name="text"/>; together
    /// they cover the range. The text must hold no lone surrogates.
    /// </summary>
    public void Split(string text, int start, int length, List<(int Start, int Length)> words)
    {
        // One char per code point; starts[i] is where code point i begins in text.
        var stand = new StringBuilder(length);
        var starts = new List<int>(length + 1);
        for (int i = start; i < start + length;)
        {
            starts.Add(i);
            var rune = Rune.GetRuneAt(text, i);
            stand.Append(StandIn(rune));
            i += rune.Utf16SequenceLength;
        }

        starts.Add(start + length);
        string collapsed = stand.ToString();
        var pieces = new List<(int, int)> { (0, collapsed.Length) };
        foreach (var expression in _expressions)
        {
            var next = new List<(int, int)>(pieces.Count * 2);
            foreach (var (pieceStart, pieceLength) in pieces)
            {
                // Each piece is matched on its own, as llama.cpp does: lookarounds and \z see only the piece.
                string piece = collapsed.Substring(pieceStart, pieceLength);
                int at = 0;
                for (var match = expression.Match(piece); match.Success; match = match.NextMatch())
                {
                    if (match.Length == 0)
                    {
                        continue;
                    }

                    if (match.Index > at)
                    {
                        next.Add((pieceStart + at, match.Index - at));
                    }

                    next.Add((pieceStart + match.Index, match.Length));
                    at = match.Index + match.Length;
                }

                if (at < pieceLength)
                {
                    next.Add((pieceStart + at, pieceLength - at));
                }
            }

            pieces = next;
        }

        foreach (var (first, count) in pieces)
        {
            words.Add((starts[first], starts[first + count] - starts[first]));
        }
    }

    private static char StandIn(Rune rune)
    {
        if (Rune.IsWhiteSpace(rune))
        {
            return rune.Value < 0x80 ? (char)rune.Value : '\v';
        }

        if (rune.IsBmp)
        {
            return (char)rune.Value;
        }

        return Rune.GetUnicodeCategory(rune) switch
        {
            UnicodeCategory.UppercaseLetter or UnicodeCategory.LowercaseLetter or UnicodeCategory.TitlecaseLetter
                or UnicodeCategory.ModifierLetter or UnicodeCategory.OtherLetter => LetterStandIn,
            UnicodeCategory.DecimalDigitNumber or UnicodeCategory.LetterNumber or UnicodeCategory.OtherNumber => NumberStandIn,
            _ => OtherStandIn,
        };
    }

    private static Dictionary<string, (string, string[], bool, bool)> BuildKnown()
    {
        string llama3 = Contractions + @"|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
        string qwen2 = Contractions + @"|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
        string tekken = @"[^\r\n\p{L}\p{N}]?((?=[\p{L}])([^a-z]))*((?=[\p{L}])([^A-Z]))+|[^\r\n\p{L}\p{N}]?((?=[\p{L}])([^a-z]))+((?=[\p{L}])([^A-Z]))*|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+";

        // DeepSeek LLM's letter class, without its ranges beyond U+FFFF (matched through the stand-in, they
        // cannot be told apart from other letters there).
        string deepseekLetters = "A-Za-z\u00B5\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u01BA\u01BC-\u01BF\u01C4-\u0293\u0295-\u02AF\u0370-\u0373\u0376\u0377\u037B-\u037D\u037F\u0386\u0388-\u038A\u038C\u038E-\u03A1\u03A3-\u03F5\u03F7-\u0481\u048A-\u052F\u0531-\u0556\u10A0-\u10C5\u13A0-\u13F5\u13F8-\u13FD\u1C90-\u1CBA\u1CBD-\u1CBF\u1D00-\u1D2B\u1D6B-\u1D77\u1D79-\u1D9A\u1E00-\u1F15\u1F18-\u1F1D\u1F20-\u1F45\u1F48-\u1F4D\u1F50-\u1F57\u1F59\u1F5B\u1F5D\u1F5F-\u1F7D\u1F80-\u1FB4\u1FB6-\u1FBC\u1FBE\u1FC2-\u1FC4\u1FC6-\u1FCC\u1FD0-\u1FD3\u1FD6-\u1FDB\u1FE0-\u1FEC\u1FF2-\u1FF4\u1FF6-\u1FFC\u2102\u2107\u210A-\u2113\u2115\u2119-\u211D\u2124\u2126\u2128\u212A-\u212D\u212F-\u2134\u2139\u213C-\u213F\u2145-\u2149\u214E\u2183\u2184\u2C00-\u2C7B\u2C7E-\u2CE4\u2CEB-\u2CEE\u2CF2\u2CF3\uA640-\uA66D\uA680-\uA69B\uA722-\uA76F\uA771-\uA787\uA78B-\uA78E\uAB70-\uABBF\uFB00-\uFB06\uFB13-\uFB17\uFF21-\uFF3A\uFF41-\uFF5A";
        string[] deepseek =
        [
            @"[\r\n]",
            @"\s?[" + deepseekLetters + "]+",
            "\\s?[!-/:-~\uFF01-\uFF0F\uFF1A-\uFF5E\u2018-\u201F\u3000-\u3002]+",
            @"\s+\z",
            "[\u4E00-\u9FA5\u0800-\u4E00\uAC00-\uD7FF]+",
            @"\p{N}+",
        ];

        var known = new Dictionary<string, (string, string[], bool, bool)>(StringComparer.Ordinal);
        void Add(string kind, string[] patterns, bool ignoreMerges, bool addBos, params string[] names)
        {
            foreach (string name in names)
            {
                known[name] = (kind, patterns, ignoreMerges, addBos);
            }
        }

        Add("default", [@"[\p{P}\$\+<=>\^~\|]+", Gpt2, @"\p{N}+", "[0-9][0-9][0-9]"], false, false, "default");
        Add("gpt2", [Gpt2], false, false, "gpt-2", "phi-2", "mpt", "olmo", "jina-es", "jina-de", "exaone4");
        Add("llama3", [llama3], true, true, "llama3", "llama-v3", "llama-bpe", "falcon3", "pixtral");
        Add("dbrx", [llama3], false, false, "dbrx", "smaug-bpe");
        Add("qwen2", [qwen2], false, false, "qwen2", "deepseek-r1-qwen", "stablelm2", "megrez");
        Add("smollm", [@"\p{N}", Gpt2], false, false, "smollm", "starcoder", "refact", "command-r", "codeshell", "exaone", "minerva-7b");
        Add("deepseek-llm", deepseek, false, false, "deepseek-llm");
        Add("tekken", [tekken], true, true, "tekken");
        return known;
    }
}
