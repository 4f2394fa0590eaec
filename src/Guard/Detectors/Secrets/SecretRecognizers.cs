using System.Text.RegularExpressions;
using Mesh.Guard.Detectors.Pii;

namespace Mesh.Guard.Detectors.Secrets;

/// <summary>
/// Credentials that must never cross the guard: provider keys with a fixed, documented shape,
/// PEM private keys, JSON Web Tokens, and high-entropy values assigned to secret-sounding names.
/// </summary>
public static class SecretRecognizers
{
    // Every repetition is bounded (a PEM block at 8 K characters — an RSA-8192 key is 6.4 K — a JWT part at 2 K), so each
    // recognizer has a longest match, the third argument: what a streaming check rescans.
    /// <summary>The built-in secret recognizers, one per credential kind, each with its validator.</summary>
    public static IReadOnlyList<PatternRecognizer> All { get; } =
    [
        new("AWS_ACCESS_KEY", PatternRecognizer.Compile(@"(?<![A-Za-z0-9])(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}(?![A-Za-z0-9])"), 24, lookAhead: 1),
        new("AWS_SECRET_KEY", PatternRecognizer.Compile(@"(?i)aws_?secret_?(?:access_?)?key[""']?\s{0,16}[:=]\s{0,16}[""']?(?<value>[A-Za-z0-9/+=]{40})(?![A-Za-z0-9/+=])"), 128),
        new("GITHUB_TOKEN", PatternRecognizer.Compile(@"(?<![A-Za-z0-9_])(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255})"), 272),
        new("SLACK_TOKEN", PatternRecognizer.Compile(@"(?<![A-Za-z0-9])xox[baprs]-[A-Za-z0-9-]{10,250}"), 264),
        new("STRIPE_KEY", PatternRecognizer.Compile(@"(?<![A-Za-z0-9])(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{16,247}"), 264),
        new("OPENAI_KEY", PatternRecognizer.Compile(@"(?<![A-Za-z0-9_-])sk-(?:proj-|svcacct-|ant-[a-z0-9]{1,16}-)?[A-Za-z0-9_-]{20,200}"), 240, (_, m) => HasDigitAndLetter(m.Value[3..])),
        new("GOOGLE_API_KEY", PatternRecognizer.Compile(@"(?<![A-Za-z0-9_-])AIza[0-9A-Za-z_-]{35}(?![A-Za-z0-9_-])"), 48, lookAhead: 1),
        new("PRIVATE_KEY", PatternRecognizer.Compile(@"-----BEGIN (?:[A-Z0-9]{1,16} ){0,4}PRIVATE KEY(?: BLOCK)?-----(?:[\s\S]{0,8192}?-----END (?:[A-Z0-9]{1,16} ){0,4}PRIVATE KEY(?: BLOCK)?-----|[A-Za-z0-9+/=\s:,-]{0,8192})"), 8_400),
        new("JWT", PatternRecognizer.Compile(@"(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{8,2048}\.eyJ[A-Za-z0-9_-]{8,2048}\.[A-Za-z0-9_-]{8,2048}"), 6_176),
        new("GENERIC_SECRET", PatternRecognizer.Compile(
            @"(?i)(?<![A-Za-z0-9])(?:api[_-]?key|api[_-]?secret|secret[_-]?key|client[_-]?secret|access[_-]?token|auth[_-]?token|bearer|password|passwd|pwd|secret|token)[""']?\s{0,16}(?:[:=]|\bis\b)\s{0,16}[""']?(?<value>[A-Za-z0-9_\-+/=.!@#$%^&*]{8,200})"),
            280, (_, m) => LooksRandom(m.Groups["value"].Value), isFallback: true),
    ];

    private static bool HasDigitAndLetter(string s) => s.Any(char.IsAsciiDigit) && s.Any(char.IsAsciiLetter);

    /// <summary>
    /// A value worth blocking: mixes character classes and has at least 3 bits of Shannon entropy
    /// per character, which real keys have and placeholders ("changeme", "&lt;your-key&gt;", "None") lack.
    /// </summary>
    public static bool LooksRandom(string value)
    {
        var classes = (value.Any(char.IsAsciiDigit) ? 1 : 0) + (value.Any(char.IsAsciiLetterUpper) ? 1 : 0)
            + (value.Any(char.IsAsciiLetterLower) ? 1 : 0) + (value.Any(c => !char.IsAsciiLetterOrDigit(c)) ? 1 : 0);
        if (classes < 2)
        {
            return false;
        }
        Span<int> counts = stackalloc int[128];
        foreach (var c in value)
        {
            counts[c & 127]++;
        }
        double entropy = 0;
        foreach (var n in counts)
        {
            if (n > 0)
            {
                var p = (double)n / value.Length;
                entropy -= p * Math.Log2(p);
            }
        }
        return entropy >= 3.0;
    }
}
