using System.Text;

namespace Mesh.Inference.Tests.Tokenization;

/// <summary>
/// A deterministic set of varied strings for tokenizer parity: hand-picked cases that exercise known
/// pitfalls (equal-score merges, whitespace runs, byte fallback, text that looks like control tokens),
/// then strings generated from a fixed seed that mix words, punctuation, repeated letters, accented
/// Latin, CJK, emoji and whitespace of every kind.
/// </summary>
internal static class TokenizerCorpus
{
    public static readonly string[] HandPicked =
    [
        "", " ", "  ", "   ", "\t", "\n", "\r\n", " \n ", "\n\n\n", "\t\t x",
        "Once upon a time", "Once upon a time, there was a little girl named Lily.",
        "Mooo", "It was sooo good", "ooo", "oooo", "ooooo", "aaaaaaaaaaaaaaaa", "!!!!", "????!!!!", "......",
        "ababababab", "lolololol", "hahahahaha", "zzzzzz", "Whooooosh", "  leading", "trailing  ", "  both  ",
        "multiple   spaces   here", "tab\tseparated\tvalues", "line one\nline two\n", "\nstarts with newline",
        "café", "naïve résumé", "Ångström", "ñandú", "e\u0301", "Zoë Saldaña", "façade", "smörgåsbord", "Øresund",
        "你好，世界", "日本語のテキストです", "한국어 문장", "中文 和 English 混合",
        "😀", "👍🏽", "👨‍👩‍👧", "🇫🇷🇩🇪", "I ❤️ NY", "emoji😀in😀text", "😀😀😀",
        "<s>", "</s>", "<unk>", "<0x0A>", "<s>Hello</s>", "\u2581", "\u2581\u2581x", "x\u2581y",
        "\u0001\u0002\u001f", "\u007f", "\u00a0non-breaking", "zero\u200bwidth", "\ufeffbom",
        "1234567890", "3.14159", "user@example.com", "https://example.com/a?b=c&d=e", "C:\\path\\to\\file",
        "if (x == 1) { return y; }", "def f(x):\n    return x ** 2\n", "SELECT * FROM t WHERE a = 'b';",
        "lone \uD83D surrogate", "\uDE00", "\uFFFD",
        "Ελληνικά", "Русский текст", "עברית", "العربية", "हिन्दी", "ไทย",
    ];

    private static readonly string[] Words =
    [
        "the", "a", "little", "girl", "boy", "named", "Lily", "Tom", "Ben", "Sue", "dog", "cat", "park", "tree",
        "played", "loved", "happy", "sad", "big", "small", "ball", "sun", "sky", "was", "were", "said", "went",
        "home", "mom", "dad", "friend", "together", "very", "and", "but", "because", "suddenly", "one", "day",
        "time", "upon", "once", "there", "they", "she", "he", "it", "to", "of", "in", "on", "with", "for",
        "tokenizer", "inference", "gRPC", "Mesh", "SentencePiece", "llama", "byte", "fallback", "merge",
        "über", "Straße", "niño", "garçon", "crème", "brûlée", "déjà", "vu", "Köln", "Zürich",
        "東京", "北京", "学生", "先生", "ありがとう", "こんにちは", "사랑", "감사",
        "🙂", "🚀", "🎉", "🐍", "✨", "🔥", "🤖", "🍕",
    ];

    private static readonly string[] Punctuation = [".", ",", "!", "?", ";", ":", "'", "\"", "-", "—", "(", ")", "[", "]", "...", "…", "“", "”", "«", "»"];

    private static readonly string[] Separators = [" ", " ", " ", " ", "  ", "   ", "\t", "\n", "\n\n", " \n", "\r\n", "", "\u3000"];

    // Ranges for random code points: Latin-1 and Latin Extended, Greek, Cyrillic, Hebrew, Arabic,
    // Devanagari, Thai, CJK, Hangul, emoji, symbols, and ASCII control characters.
    private static readonly (int First, int Last)[] CodePointRanges =
    [
        (0x20, 0x7E), (0x20, 0x7E), (0x20, 0x7E), (0xA0, 0x24F), (0x370, 0x3FF), (0x400, 0x4FF), (0x5D0, 0x5EA),
        (0x620, 0x64A), (0x900, 0x97F), (0xE01, 0xE5B), (0x4E00, 0x9FFF), (0xAC00, 0xD7A3), (0x1F300, 0x1FAFF),
        (0x2000, 0x2BFF), (0x01, 0x1F),
    ];

    /// <summary>The hand-picked cases followed by <paramref name="generatedCount"/> generated strings.</summary>
    public static IReadOnlyList<string> Create(int generatedCount, int seed = 20260528)
    {
        var random = new Random(seed);
        var corpus = new List<string>(HandPicked.Length + generatedCount);
        corpus.AddRange(HandPicked);
        for (int i = 0; i < generatedCount; i++)
        {
            corpus.Add((i % 5) switch
            {
                0 => Sentence(random),
                1 => RepeatedLetters(random),
                2 => RandomCodePoints(random),
                3 => WhitespaceHeavy(random),
                _ => Sentence(random) + Separator(random) + RandomCodePoints(random) + Separator(random) + RepeatedLetters(random),
            });
        }

        return corpus;
    }

    private static string Sentence(Random random)
    {
        var text = new StringBuilder();
        int words = random.Next(1, 16);
        for (int w = 0; w < words; w++)
        {
            if (w > 0)
            {
                text.Append(random.Next(6) == 0 ? Separator(random) : " ");
            }

            string word = Words[random.Next(Words.Length)];
            text.Append(random.Next(8) == 0 ? char.ToUpperInvariant(word[0]) + word[1..] : word);
            if (random.Next(5) == 0)
            {
                text.Append(Punctuation[random.Next(Punctuation.Length)]);
            }
        }

        return text.ToString();
    }

    private static string RepeatedLetters(Random random)
    {
        var text = new StringBuilder();
        int runs = random.Next(1, 5);
        for (int r = 0; r < runs; r++)
        {
            if (r > 0)
            {
                text.Append(' ');
            }

            string unit = random.Next(4) switch
            {
                0 => ((char)('a' + random.Next(26))).ToString(),
                1 => "oe!.s"[random.Next(5)].ToString(),
                2 => FirstCodePoint(Words[random.Next(Words.Length)]),
                _ => new string([(char)('a' + random.Next(26)), (char)('a' + random.Next(26))]),
            };
            string prefix = random.Next(2) == 0 ? Words[random.Next(Words.Length)] : "";
            text.Append(prefix).Append(string.Concat(Enumerable.Repeat(unit, random.Next(2, 12))));
        }

        return text.ToString();
    }

    private static string RandomCodePoints(Random random)
    {
        var text = new StringBuilder();
        int count = random.Next(1, 24);
        for (int i = 0; i < count; i++)
        {
            var (first, last) = CodePointRanges[random.Next(CodePointRanges.Length)];
            text.Append(char.ConvertFromUtf32(random.Next(first, last + 1)));
        }

        return text.ToString();
    }

    private static string WhitespaceHeavy(Random random)
    {
        var text = new StringBuilder();
        int parts = random.Next(1, 6);
        for (int p = 0; p < parts; p++)
        {
            text.Append(Separator(random)).Append(Separator(random)).Append(Words[random.Next(Words.Length)]);
        }

        return text.Append(Separator(random)).Append(random.Next(3) == 0 ? "   " : "").ToString();
    }

    private static string FirstCodePoint(string word) => char.IsHighSurrogate(word[0]) ? word[..2] : word[..1];

    private static string Separator(Random random) => Separators[random.Next(Separators.Length)];
}
