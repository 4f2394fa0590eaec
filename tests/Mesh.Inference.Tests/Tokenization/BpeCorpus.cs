using System.Text;

namespace Mesh.Inference.Tests.Tokenization;

/// <summary>
/// The tokenizer corpus plus what byte-level pre-tokenizers treat specially: English contractions in
/// every case, digit runs of every length, source code, URLs and paths, emoji ZWJ sequences, and text
/// that looks like special tokens. Deterministic.
/// </summary>
internal static class BpeCorpus
{
    private static readonly string[] HandPicked =
    [
        "don't", "DON'T", "I'm", "you're", "we've", "they'll", "she'd", "it's", "IT'S", "He'S", "o'clock", "rock 'n' roll",
        "'s", "'", "''", "Let's go!", "y'all'd've",
        "1", "12", "123", "1234", "12345", "123456", "1234567", "3.14159265", "1,000,000", "2026-11-30", "v1.2.3", "0x1F600", "٣٤٥", "½ ¼",
        "https://example.com/path/to/page?query=1&x=y#frag", "www.example.org", "user@mail.example.com", "/usr/local/bin/dotnet", "C:\\Windows\\System32",
        "def fib(n):\n    return n if n < 2 else fib(n-1) + fib(n-2)\n", "int main() { printf(\"%d\\n\", 42); return 0; }",
        "for (var i = 0; i < n; i++) {\n\tsum += a[i];\n}", "<div class=\"x\">Hello</div>", "SELECT id, name FROM users WHERE age >= 18;",
        "{\"key\": [1, 2, 3], \"nested\": {\"a\": null}}", "    indented\n        more\n", "a\r\nb\r\n\r\nc", "x\n\n\n\ny", "trailing   ",
        "👨‍👩‍👧‍👦", "🏳️‍🌈", "👩🏽‍💻", "🧑‍🤝‍🧑", "❤️‍🔥", "👍🏿👍🏻", "family: 👨‍👩‍👧 and flag 🇯🇵",
        "<|endoftext|>", "<|im_start|>user\nhi<|im_end|>", "<|eot_id|>", "<tool_call>{}</tool_call>", "<|python_tag|>x", "<|unused_5|>",
        "Ünïcödé façade naïve", "ＡＢＣ　全角", "𝐀𝐁𝐂 math letters", "𠀀𠀁 extension B", "𝟎𝟏𝟐 math digits", "ℌ𝔢𝔩𝔩𝔬",
        "CamelCaseWordsAndALLCAPS and mixedCASE", "HTTPServerError", "iPhone eBay McDonald's",
    ];

    private static readonly string[] Contractions = ["'s", "'t", "'re", "'ve", "'m", "'ll", "'d", "'S", "'T", "'RE", "'Ve", "'M", "'LL", "'D"];
    private static readonly string[] Code = ["if (", ") {", "}", "return ", "x += 1;", "=>", "!=", "==", "&&", "||", "::", "->", "#include <", ">", "\t", "    ", "//", "/*", "*/", "\"", "'", "`"];
    private static readonly string[] Emoji = ["😀", "👍", "🏽", "\u200D", "👩", "💻", "🏳", "\uFE0F", "🌈", "🇫", "🇷", "❤"];

    /// <summary>The shared corpus (3,083 strings), these hand-picked cases and <paramref name="generatedCount"/> generated ones.</summary>
    public static IReadOnlyList<string> Create(int generatedCount = 600, int seed = 20261130)
    {
        var corpus = new List<string>(TokenizerCorpus.Create(generatedCount: 3000));
        corpus.AddRange(HandPicked);
        var random = new Random(seed);
        for (int i = 0; i < generatedCount; i++)
        {
            var text = new StringBuilder();
            int parts = random.Next(1, 10);
            for (int p = 0; p < parts; p++)
            {
                switch (random.Next(5))
                {
                    case 0:
                        text.Append(random.Next(2) == 0 ? "I" : "you").Append(Contractions[random.Next(Contractions.Length)]);
                        break;
                    case 1:
                        text.Append(random.NextInt64(0, long.MaxValue).ToString()[..random.Next(1, 12)]);
                        break;
                    case 2:
                        text.Append(Code[random.Next(Code.Length)]);
                        break;
                    case 3:
                        for (int e = random.Next(1, 5); e > 0; e--)
                        {
                            text.Append(Emoji[random.Next(Emoji.Length)]);
                        }

                        break;
                    default:
                        text.Append($"https://{(char)('a' + random.Next(26))}.example/{random.Next(1000)}?q={random.Next(99)}");
                        break;
                }

                text.Append(" \n\t  "[random.Next(5)..][..random.Next(0, 2)]);
            }

            corpus.Add(text.ToString());
        }

        return corpus;
    }
}
