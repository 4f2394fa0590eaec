using System.Globalization;
using System.Text.RegularExpressions;

namespace Mesh.Guard.Detectors.Pii;

/// <summary>
/// Presidio's predefined recognizers for values that are not national identifiers: CRYPTO (Bitcoin
/// addresses, checked by Base58Check or bech32/bech32m), MAC_ADDRESS (six colon- or dash-separated
/// octets, or Cisco's three dotted groups), URL (with a scheme or <c>www.</c>; the host must parse
/// as a URI) and DATE_TIME (complete calendar dates with a year, optionally a time; the day must
/// exist in its month, either way round for numeric day/month orders).
/// </summary>
public static class TechnicalRecognizers
{
    private const string Months = "jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?";

    private static readonly Regex DatePattern = PatternRecognizer.Compile(
        $@"(?<![\w./-])(?:(?<y>(?:19|20)\d\d)-(?<m>\d\d)-(?<d>\d\d)(?:[T ]\d\d:\d\d(?::\d\d)?)?|(?<a>\d{{1,2}})(?<sep>[/.-])(?<b>\d{{1,2}})\k<sep>(?<y>(?:19|20)\d\d)|(?<d>\d{{1,2}})(?:st|nd|rd|th)? (?<mon>{Months})\.?,? (?<y>(?:19|20)\d\d)|(?<mon>{Months})\.? (?<d>\d{{1,2}})(?:st|nd|rd|th)?,? (?<y>(?:19|20)\d\d))(?![\w/-]|\.\d)",
        RegexOptions.IgnoreCase);

    /// <summary>The recognizers by entity type, in the order policies list them.</summary>
    public static IReadOnlyDictionary<string, Func<PatternRecognizer>> Factories { get; } = new Dictionary<string, Func<PatternRecognizer>>(StringComparer.Ordinal)
    {
        ["CRYPTO"] = () => new("CRYPTO", PatternRecognizer.Compile(
            @"(?<!\w)(?:[13][1-9A-HJ-NP-Za-km-z]{24,34}|(?:bc|BC)1[02-9ac-hj-np-zAC-HJ-NP-Z]{11,71})(?!\w)"), 80,
            (_, m) => m.Value[0] is '1' or '3' ? CryptoChecksums.Base58Check(m.Value) : CryptoChecksums.Bech32(m.Value)),
        ["MAC_ADDRESS"] = () => new("MAC_ADDRESS", PatternRecognizer.Compile(
            @"(?<![\w:.-])(?:[0-9A-F]{2}(?<sep>[:-])[0-9A-F]{2}(?:\k<sep>[0-9A-F]{2}){4}|[0-9A-F]{4}\.[0-9A-F]{4}\.[0-9A-F]{4})(?![\w:-]|\.\w)", RegexOptions.IgnoreCase), 20),
        ["URL"] = () => new("URL", PatternRecognizer.Compile(
            @"(?<![\w@/.-])(?:https?://|www\.)(?<host>[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}\.){0,8}[A-Za-z0-9-]{0,62}\.[A-Za-z]{2,24})(?::\d{1,5})?(?:[/?#](?:[^\s<>""']{0,2000}[^\s<>""'.,;:!?)\]])?)?", RegexOptions.IgnoreCase),
            2_700, (_, m) => Uri.TryCreate(m.Value.Contains("://", StringComparison.Ordinal) ? m.Value : "http://" + m.Value, UriKind.Absolute, out var u) && u.Host.Contains('.')),
        ["DATE_TIME"] = () => new("DATE_TIME", DatePattern, 48, (_, m) => IsDate(m)),
    };

    private static readonly string[] MonthNames = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];

    private static bool IsDate(Match m)
    {
        var year = int.Parse(m.Groups["y"].Value, CultureInfo.InvariantCulture);
        if (m.Groups["a"].Success)
        {
            var a = int.Parse(m.Groups["a"].Value, CultureInfo.InvariantCulture);
            var b = int.Parse(m.Groups["b"].Value, CultureInfo.InvariantCulture);
            return Exists(year, b, a) || Exists(year, a, b);
        }
        var month = m.Groups["mon"].Success
            ? Array.IndexOf(MonthNames, m.Groups["mon"].Value[..3].ToLowerInvariant()) + 1
            : int.Parse(m.Groups["m"].Value, CultureInfo.InvariantCulture);
        return Exists(year, month, int.Parse(m.Groups["d"].Value, CultureInfo.InvariantCulture));
    }

    private static bool Exists(int year, int month, int day) => month is >= 1 and <= 12 && day >= 1 && day <= DateTime.DaysInMonth(year, month);
}
