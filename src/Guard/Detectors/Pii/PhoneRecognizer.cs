using System.Text.RegularExpressions;
using PhoneNumbers;

namespace Mesh.Guard.Detectors.Pii;

/// <summary>
/// PHONE_NUMBER through Google's libphonenumber, as Presidio's <c>PhoneRecognizer</c> does: a loose
/// pattern proposes runs of digits and separators, and <see cref="PhoneNumberUtil.FindNumbers(string, string, PhoneNumberUtil.Leniency, long)"/>
/// finds the numbers in each run under every listed region (national formats are read relative to
/// a region; a number written with <c>+</c> or an international prefix is found under any).
/// Scores follow Presidio's context enhancer: a number written with its country code, or a national
/// number of nine or more significant digits written with its grouping, scores
/// <see cref="StrongScore"/>; a short local number (under nine significant digits) or an ungrouped
/// run of digits — what order and account numbers look like — scores <see cref="WeakScore"/>, raised
/// by <see cref="ContextBoost"/> when a phone word ("call", "phone", "tel", …) stands within
/// <see cref="ContextWindow"/> characters before it. Findings under <see cref="MinScore"/> are not reported.
/// </summary>
public sealed class PhoneRecognizer : IRecognizer
{
    /// <summary>The regions Presidio's deployments most often list and this project's evaluation set covers.</summary>
    public static IReadOnlyList<string> DefaultRegions { get; } = ["US", "GB", "DE", "FR", "IN", "CA", "AU", "BR", "IL"];

    /// <summary>Score of an international or grouped national number.</summary>
    public const float StrongScore = 0.75f;

    /// <summary>Score of a short local number or an ungrouped digit run (Presidio's phone score, 0.4).</summary>
    public const float WeakScore = 0.4f;

    /// <summary>What a phone word before a weak number adds (Presidio's context similarity factor, 0.35).</summary>
    public const float ContextBoost = 0.35f;

    /// <summary>Lowest score reported.</summary>
    public const float MinScore = 0.5f;

    /// <summary>Characters before a number searched for a phone word.</summary>
    public const int ContextWindow = 32;

    /// <summary>libphonenumber's leniency levels by the names a policy's <c>phone_leniency</c> uses.</summary>
    public static IReadOnlyDictionary<string, PhoneNumberUtil.Leniency> Leniencies { get; } = new Dictionary<string, PhoneNumberUtil.Leniency>(StringComparer.Ordinal)
    {
        ["possible"] = PhoneNumberUtil.Leniency.POSSIBLE,
        ["valid"] = PhoneNumberUtil.Leniency.VALID,
        ["strict_grouping"] = PhoneNumberUtil.Leniency.STRICT_GROUPING,
        ["exact_grouping"] = PhoneNumberUtil.Leniency.EXACT_GROUPING,
    };

    /// <summary>The leniency used when a policy names none: <c>valid</c>, as Presidio's phone recognizer.</summary>
    public const PhoneNumberUtil.Leniency DefaultLeniency = PhoneNumberUtil.Leniency.VALID;

    private const int MaxCandidate = 32;

    private static readonly PhoneNumberUtil Util = PhoneNumberUtil.GetInstance();

    // A run that starts with +, ( or a digit, holds digits and the separators people write, and
    // ends on a digit. Not the continuation of a longer group ("BE71 0961 2345 6769" is an IBAN).
    // Bounded, so linear; libphonenumber decides.
    private static readonly Regex Candidate = PatternRecognizer.Compile(
        @"(?<![\w+.\-/]|\d )(?:\+|\(\+?)?\d[\d \-.()/]{4,28}\d(?!\w|[.\-/]\d)");

    // A date at the start of a match, or a clock time after it: "14.02.2017 23:59" is a timestamp
    // whatever a region's numbering plan allows. (libphonenumber skips only year-first dates.)
    private static readonly Regex DateStart = PatternRecognizer.Compile(
        @"^(?:\d{1,2}[./-]\d{1,2}[./-](?:19|20)\d\d|(?:19|20)\d\d[./-]\d{1,2}[./-]\d{1,2})(?!\d)");

    private static readonly string[] PhoneWords =
    [
        "phone", "call", "tel", "mobile", "cell", "fax", "whatsapp", "sms", "text me", "reach me", "dial", "ring",
        "contact", "hotline", "landline", "telefon", "téléphone", "portable", "handy", "celular", "número",
    ];

    private readonly string[] _regions;
    private readonly PhoneNumberUtil.Leniency _leniency;

    /// <summary>A recognizer for the numbers of <paramref name="regions"/> (ISO 3166 alpha-2, as libphonenumber names them).</summary>
    /// <param name="regions">Regions whose national formats are read; international numbers are found whatever the list.</param>
    /// <param name="leniency">libphonenumber's matching leniency; <c>VALID</c> (Presidio's default) checks the number against the region's metadata.</param>
    /// <exception cref="ArgumentException">A region libphonenumber does not know, or an empty list.</exception>
    public PhoneRecognizer(IReadOnlyList<string>? regions = null, PhoneNumberUtil.Leniency leniency = DefaultLeniency)
    {
        _regions = [.. regions ?? DefaultRegions];
        if (_regions.Length == 0)
        {
            throw new ArgumentException("At least one phone region is needed.", nameof(regions));
        }
        foreach (var r in _regions)
        {
            if (!IsKnownRegion(r))
            {
                throw new ArgumentException($"Unknown phone region '{r}'; use ISO 3166 alpha-2 codes such as {string.Join(", ", DefaultRegions)}.", nameof(regions));
            }
        }
        _leniency = leniency;
    }

    /// <summary>True when libphonenumber has metadata for <paramref name="region"/> (upper-case ISO 3166 alpha-2).</summary>
    public static bool IsKnownRegion(string region) => Util.GetSupportedRegions().Contains(region);

    /// <summary>The regions whose national formats are read.</summary>
    public IReadOnlyList<string> Regions => _regions;

    /// <inheritdoc/>
    public string EntityType => PiiRecognizers.Phone;

    /// <inheritdoc/>
    public int MaxLength => MaxCandidate + ContextWindow + 8;

    /// <inheritdoc/>
    public int MatchLookAhead => PatternRecognizer.LookAhead;

    /// <inheritdoc/>
    public bool IsFallback => false;

    /// <inheritdoc/>
    public IEnumerable<RecognizerResult> Find(string text, int from = 0)
    {
        for (var m = Candidate.Match(text, Math.Clamp(from, 0, text.Length)); m.Success; m = m.NextMatch())
        {
            var found = new List<RecognizerResult>();
            // libphonenumber reads the characters around a number (a time stamp's ":59", an adjacent
            // letter), so it gets the candidate with a few characters either side.
            var windowStart = Math.Max(0, m.Index - 2);
            var window = text.Substring(windowStart, Math.Min(text.Length, m.Index + m.Length + 4) - windowStart);
            foreach (var region in _regions)
            {
                foreach (var number in Util.FindNumbers(window, region, _leniency, long.MaxValue))
                {
                    var start = windowStart + number.Start;
                    var end = start + number.Length;
                    if (start < m.Index || end > m.Index + m.Length || found.Any(f => f.Start < end && start < f.End) || !Plausible(text, end, number.RawString))
                    {
                        continue;
                    }
                    var score = Score(text, start, number);
                    if (score >= MinScore)
                    {
                        found.Add(new RecognizerResult(start, end, score));
                    }
                }
            }
            foreach (var f in found.OrderBy(f => f.Start))
            {
                yield return f;
            }
        }
    }

    // E.164 allows 15 digits with the country code; more is a card or account number. A date or
    // a clock time is not a number to call.
    private static bool Plausible(string text, int end, string raw) =>
        (raw.Count(char.IsDigit) <= 15 || raw.StartsWith("00", StringComparison.Ordinal))
        && !DateStart.IsMatch(raw)
        && !(end + 1 < text.Length && text[end] == ':' && char.IsDigit(text[end + 1]));

    private static float Score(string text, int start, PhoneNumberMatch number)
    {
        var raw = number.RawString;
        var international = raw[0] == '+' || raw.StartsWith("00", StringComparison.Ordinal) || raw.StartsWith("011", StringComparison.Ordinal);
        var grouped = raw.Any(c => c is ' ' or '-' or '.' or '(' or '/');
        var significant = Util.GetNationalSignificantNumber(number.Number).Length;
        if (international || grouped && significant >= 9)
        {
            return StrongScore + (PatternRecognizer.PrecededBy(text, start, ContextWindow, PhoneWords) ? 0.2f : 0f);
        }
        return WeakScore + (PatternRecognizer.PrecededBy(text, start, ContextWindow, PhoneWords) ? ContextBoost : 0f);
    }
}
