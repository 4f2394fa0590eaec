using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;

namespace Mesh.Guard.Detectors.Pii;

/// <summary>
/// The built-in PII recognizers, named after Presidio's entities. Each pattern is deliberately
/// loose and each validator strict: recall comes from the pattern, precision from the check.
/// </summary>
public static class PiiRecognizers
{
    /// <summary>An e-mail address, accepted by its validator.</summary>
    public const string Email = "EMAIL_ADDRESS";
    /// <summary>A phone number found by libphonenumber in the policy's regions (<see cref="PhoneRecognizer"/>).</summary>
    public const string Phone = "PHONE_NUMBER";
    /// <summary>A payment card number of 13 to 19 digits that passes the Luhn check.</summary>
    public const string CreditCard = "CREDIT_CARD";
    /// <summary>An IBAN that passes the ISO 13616 mod-97 check.</summary>
    public const string IbanCode = "IBAN_CODE";
    /// <summary>A US Social Security number (<c>123-45-6789</c> or nine digits), accepted by its validator.</summary>
    public const string UsSsn = "US_SSN";
    /// <summary>An IPv4 or IPv6 address, accepted by its validator.</summary>
    public const string IpAddress = "IP_ADDRESS";

    /// <summary>The entities a <c>pii</c> rule without <c>entities</c> runs: the contact, payment and network data every policy redacts.</summary>
    public static IReadOnlyList<string> Default { get; } = [Email, Phone, CreditCard, IbanCode, UsSsn, IpAddress];

    /// <summary>
    /// Every built-in PII entity type, in the order policies list them: <see cref="Default"/>, then
    /// Presidio's national identifiers (<see cref="NationalIdRecognizers"/>) and CRYPTO, MAC_ADDRESS,
    /// URL, DATE_TIME (<see cref="TechnicalRecognizers"/>), which a rule names to run.
    /// </summary>
    public static IReadOnlyList<string> All { get; } = [.. Default, .. NationalIdRecognizers.Factories.Keys, .. TechnicalRecognizers.Factories.Keys];

    // Longest match plus the context read before it (look-behinds, the 30-character context-word
    // windows), from the bounded repetitions of each pattern below.
    /// <summary>The recognizer of <paramref name="entity"/> (one of <see cref="All"/>).</summary>
    /// <param name="entity">A built-in entity type.</param>
    /// <param name="phone">The PHONE_NUMBER recognizer a policy configured (regions, leniency); null for the default regions.</param>
    /// <exception cref="ArgumentException"><paramref name="entity"/> is not a built-in entity type.</exception>
    public static IRecognizer Create(string entity, PhoneRecognizer? phone = null) => entity switch
    {
        Email => new PatternRecognizer(Email, EmailPattern, 64 + 1 + 16 * 64 + 24 + 8, ValidateEmail),
        Phone => phone ?? new PhoneRecognizer(),
        CreditCard => new PatternRecognizer(CreditCard, CardPattern, 40 + 4, ValidateCard),
        IbanCode => new PatternRecognizer(IbanCode, IbanPattern, 48 + 2, ValidateIban),
        UsSsn => new PatternRecognizer(UsSsn, SsnPattern, 12 + 30, ValidateSsn),
        IpAddress => new PatternRecognizer(IpAddress, IpPattern, 80 + 16, ValidateIp),
        _ when NationalIdRecognizers.Factories.TryGetValue(entity, out var national) => national(),
        _ when TechnicalRecognizers.Factories.TryGetValue(entity, out var technical) => technical(),
        _ => throw new ArgumentException($"Unknown PII entity '{entity}'; known: {string.Join(", ", All)}.", nameof(entity)),
    };

    // ---- EMAIL_ADDRESS: RFC 5322 dot-atom local part, dotted host (at most 16 labels), alphabetic TLD.
    private static readonly Regex EmailPattern = PatternRecognizer.Compile(
        @"(?<![\w.%+-])[A-Za-z0-9_%+-](?:[A-Za-z0-9._%+-]{0,62}[A-Za-z0-9_%+-])?@(?<host>(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.){1,16}(?<tld>[A-Za-z]{2,24}))(?![\w-]|\.[A-Za-z0-9])");

    // File extensions are not top-level domains: "icon@2x.png" is an asset name, not an address.
    private static readonly HashSet<string> FileExtensions = new(StringComparer.OrdinalIgnoreCase)
    {
        "png", "jpg", "jpeg", "gif", "svg", "webp", "bmp", "ico", "js", "css", "ts", "py", "cs", "txt", "md",
        "json", "yaml", "yml", "html", "htm", "pdf", "xml", "csv", "log",
    };

    private static bool ValidateEmail(string text, Match m) =>
        !FileExtensions.Contains(m.Groups["tld"].Value) && !m.Value.Contains("..", StringComparison.Ordinal);

    // ---- CREDIT_CARD: 13-19 digits, optionally grouped by spaces or dashes, Luhn-valid, known IIN.
    private static readonly Regex CardPattern = PatternRecognizer.Compile(@"(?<![\w-]|\d[ -])\d(?:[ -]?\d){12,18}(?![\w-]|[ -]\d)");

    private static bool ValidateCard(string text, Match m)
    {
        var d = FormatFolding.Digits(m.Value);
        return d.Length is >= 13 and <= 19 && Checksums.Luhn(d) && HasCardPrefix(d);
    }

    // Issuer identification numbers of the major networks (Visa, Mastercard, Amex, Discover, JCB,
    // Diners, UnionPay, Maestro). A Luhn-valid number with another prefix is not a payment card.
    private static bool HasCardPrefix(ReadOnlySpan<char> d)
    {
        var two = (d[0] - '0') * 10 + (d[1] - '0');
        var four = two * 100 + (d[2] - '0') * 10 + (d[3] - '0');
        return d[0] == '4' && d.Length is 13 or 16 or 19
            || two is >= 51 and <= 55 && d.Length == 16
            || four is >= 2221 and <= 2720 && d.Length == 16
            || two is 34 or 37 && d.Length == 15
            || (four == 6011 || two == 65 || four / 10 is >= 644 and <= 649) && d.Length is 16 or 19
            || four is >= 3528 and <= 3589 && d.Length is >= 16 and <= 19
            || (two is 36 or 38 or 39 || four / 10 is >= 300 and <= 305) && d.Length is >= 14 and <= 19
            || two == 62 && d.Length is >= 16 and <= 19
            || (two is 50 or (>= 56 and <= 69)) && d.Length is >= 12 and <= 19;
    }

    // ---- IBAN_CODE: country, check digits, BBAN in groups of four (spaces optional), mod-97.
    // Any letter case: the validator folds to the registry's upper case before the checks.
    private static readonly Regex IbanPattern = PatternRecognizer.Compile(
        @"(?<![A-Za-z0-9])[A-Z]{2}\d{2}(?: ?[A-Z\d]{4}){2,7}(?: ?[A-Z\d]{1,3})?(?![A-Za-z0-9])", RegexOptions.IgnoreCase);

    private static bool ValidateIban(string text, Match m) => Checksums.Iban(FormatFolding.Fold(m.Value, " "));

    // ---- US_SSN: AAA-GG-SSSS (dashes or spaces), or nine digits next to an SSN word.
    private static readonly Regex SsnPattern = PatternRecognizer.Compile(@"(?<![\w-])(?:\d{3}(?<sep>[- ])\d{2}\k<sep>\d{4}|\d{9})(?![\w-])");

    private static readonly string[] SsnContext = ["ssn", "social security", "social sec", "taxpayer"];

    // Numbers the SSA never issues, and the famous advertising and sample numbers (as Presidio).
    private static readonly HashSet<string> InvalidSsns = ["078051120", "219099999", "123456789", "987654320"];

    private static bool ValidateSsn(string text, Match m)
    {
        var d = FormatFolding.Digits(m.Value);
        if (d.Length != 9 || d.StartsWith("000", StringComparison.Ordinal) || d.StartsWith("666", StringComparison.Ordinal) || d[0] == '9'
            || d.AsSpan(3, 2).SequenceEqual("00") || d.AsSpan(5).SequenceEqual("0000") || InvalidSsns.Contains(d) || d.Distinct().Count() == 1)
        {
            return false;
        }
        return m.Value.Length != 9 || PatternRecognizer.PrecededBy(text, m.Index, 30, SsnContext);
    }

    // ---- IP_ADDRESS: dotted-quad IPv4 with octets 0-255, or IPv6 that parses.
    private static readonly Regex IpPattern = PatternRecognizer.Compile(
        @"(?<![\w.:])(?:(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?!\.?\d|\w)|(?<v6>(?:[0-9A-Fa-f]{1,4}:){1,7}(?::|(?::[0-9A-Fa-f]{1,4}){1,7}|[0-9A-Fa-f]{1,4})|::(?:[0-9A-Fa-f]{1,4}:){0,6}[0-9A-Fa-f]{1,4})(?![\w:]))");

    // Dotted version numbers read like IPv4 addresses; a version word just before rules them out.
    private static readonly string[] VersionContext = ["version", "ver.", "v.", "release", "build", "firmware", "update", "upgrade", "patch", "sdk", "package", "python", "node", "kernel", "chrome"];

    private static bool ValidateIp(string text, Match m)
    {
        if (m.Groups["v6"].Success)
        {
            return IPAddress.TryParse(m.Value, out var a) && a.AddressFamily == AddressFamily.InterNetworkV6
                && m.Value.Count(c => c == ':') >= 2 && m.Value.Any(char.IsAsciiDigit);
        }
        return !PatternRecognizer.PrecededBy(text, m.Index, 16, VersionContext);
    }
}
