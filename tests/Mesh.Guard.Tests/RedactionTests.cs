using System.Text;
using System.Text.RegularExpressions;
using Mesh.Guard.V1;

namespace Mesh.Guard.Tests;

/// <summary>
/// Redaction never leaves a detected span in the output and never alters text outside the spans:
/// checked on randomly composed texts (seeded, so failures reproduce) through the real service.
/// </summary>
[Collection(GuardCollection.Name)]
public sealed partial class RedactionTests(TestPolicyServer tests)
{
    [Fact]
    public async Task Masking_replaces_exactly_the_detected_code_points()
    {
        var random = new Random(4242);
        for (var n = 0; n < 150; n++)
        {
            var text = RandomText(random);
            var r = await tests.Server.CheckAsync(text, Stage.Output, "pii-mask");
            Assert.NotEmpty(r.Violations);
            var input = text.EnumerateRunes().ToArray();
            var output = r.RedactedText.EnumerateRunes().ToArray();
            Assert.Equal(input.Length, output.Length);
            for (var i = 0; i < input.Length; i++)
            {
                var inside = r.Violations.Any(v => v.Start <= i && i < v.End);
                Assert.True(inside ? output[i].Value == '*' : output[i] == input[i], $"code point {i} of: {text}\n => {r.RedactedText}");
            }
            // The masked spans do not trigger again: nothing of a detected value is left to find.
            var again = await tests.Server.CheckAsync(r.RedactedText, Stage.Output, "pii-mask");
            Assert.DoesNotContain(again.Violations, a => r.Violations.Any(v => v.Start < a.End && a.Start < v.End));
        }
    }

    [Fact]
    public async Task Replacing_keeps_every_character_outside_the_spans_in_order()
    {
        var random = new Random(777);
        for (var n = 0; n < 150; n++)
        {
            var text = RandomText(random);
            var r = await tests.Server.CheckAsync(text, Stage.Output, "pii");
            var input = text.EnumerateRunes().ToArray();
            var output = r.RedactedText;
            var cursor = 0;
            var position = 0;
            // Walk the merged spans: each gap must appear verbatim, each span as one placeholder.
            foreach (var (start, end) in Merge(r.Violations.Select(v => (v.Start, v.End))))
            {
                var gap = Runes(input, position, start);
                Assert.True(string.CompareOrdinal(output, cursor, gap, 0, gap.Length) == 0, $"gap before {start} changed in: {text}\n => {output}");
                cursor += gap.Length;
                var placeholder = Placeholder().Match(output, cursor);
                Assert.True(placeholder.Success && placeholder.Index == cursor, $"no placeholder at {cursor} in: {output}");
                Assert.DoesNotContain(Runes(input, start, end), output, StringComparison.Ordinal);
                cursor += placeholder.Length;
                position = end;
            }
            Assert.Equal(Runes(input, position, input.Length), output[cursor..]);
        }
    }

    [GeneratedRegex("<[A-Z_]+>")]
    private static partial Regex Placeholder();

    private static string Runes(Rune[] runes, int start, int end) => string.Concat(runes[start..end].Select(r => r.ToString()));

    private static IEnumerable<(int Start, int End)> Merge(IEnumerable<(int Start, int End)> spans)
    {
        (int Start, int End)? current = null;
        foreach (var s in spans.OrderBy(s => s.Start))
        {
            if (current is { } c && s.Start <= c.End)
            {
                current = (c.Start, Math.Max(c.End, s.End));
            }
            else
            {
                if (current is { } done)
                {
                    yield return done;
                }
                current = s;
            }
        }
        if (current is { } last)
        {
            yield return last;
        }
    }

    private static readonly string[] Filler =
    [
        "the", "order", "shipped", "today", "ünïcödé", "😀", "naïve", "text", "and", "call", "mail", "ok", "—", "数据", "(", ")", ",", ".", "ref", "id",
    ];

    /// <summary>Filler words (with non-ASCII and astral characters) around one to four PII values.</summary>
    private static string RandomText(Random random)
    {
        var sb = new StringBuilder();
        var values = random.Next(1, 5);
        for (var v = 0; v < values; v++)
        {
            for (var w = random.Next(0, 6); w > 0; w--)
            {
                sb.Append(Filler[random.Next(Filler.Length)]).Append(' ');
            }
            sb.Append(RandomValue(random)).Append(random.Next(3) == 0 ? ", " : " ");
        }
        sb.Append(Filler[random.Next(Filler.Length)]);
        return sb.ToString();
    }

    private static string RandomValue(Random random) => random.Next(6) switch
    {
        0 => $"{Word(random)}.{Word(random)}@{Word(random)}.com",
        1 => Card(random),
        2 => $"{random.Next(1, 224)}.{random.Next(256)}.{random.Next(256)}.{random.Next(1, 255)}",
        3 => $"({random.Next(2, 10)}{random.Next(10)}{random.Next(10)}) 555-{random.Next(1000, 10000)}",
        4 => $"{random.Next(100, 666)}-{random.Next(10, 100)}-{random.Next(1000, 10000)}",
        _ => "GB82 WEST 1234 5698 7654 32",
    };

    private static string Word(Random random) => new([.. Enumerable.Range(0, random.Next(2, 8)).Select(_ => (char)('a' + random.Next(26)))]);

    private static string Card(Random random)
    {
        var digits = new int[16];
        digits[0] = 4;
        for (var i = 1; i < 15; i++)
        {
            digits[i] = random.Next(10);
        }
        // Luhn check digit over the first fifteen digits.
        var sum = 0;
        for (var i = 14; i >= 0; i--)
        {
            var d = digits[i];
            if ((14 - i) % 2 == 0)
            {
                d *= 2;
                if (d > 9)
                {
                    d -= 9;
                }
            }
            sum += d;
        }
        digits[15] = (10 - sum % 10) % 10;
        var s = string.Concat(digits);
        return random.Next(2) == 0 ? s : $"{s[..4]} {s[4..8]} {s[8..12]} {s[12..]}";
    }
}
