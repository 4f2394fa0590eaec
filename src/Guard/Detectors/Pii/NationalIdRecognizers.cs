using System.Text.RegularExpressions;

namespace Mesh.Guard.Detectors.Pii;

/// <summary>
/// Presidio's predefined recognizers for national identifiers and bank numbers, by Presidio's
/// entity names. Where the issuer publishes a check digit the validator applies it
/// (<see cref="IdChecksums"/>); where a random number passes it often (one in ten or eleven), or
/// there is none (passports, driving licences, bank accounts), a context word must stand within
/// <see cref="ContextWindow"/> characters before the value, as Presidio's context enhancer demands
/// before such a finding scores.
/// </summary>
public static class NationalIdRecognizers
{
    /// <summary>Characters before a value searched for its context words.</summary>
    public const int ContextWindow = 40;

    /// <summary>The recognizers by entity type, in the order policies list them.</summary>
    public static IReadOnlyDictionary<string, Func<PatternRecognizer>> Factories { get; } = new Dictionary<string, Func<PatternRecognizer>>(StringComparer.Ordinal)
    {
        // US: ABA routing numbers pass their checksum one time in ten, so they need "routing" or "aba".
        ["ABA_ROUTING_NUMBER"] = () => Make("ABA_ROUTING_NUMBER", @"(?<![\w-])(?:\d{4}-\d{4}-\d|\d{9})(?![\w-])", 11,
            v => AbaPrefix(v) && IdChecksums.AbaRouting(v), ["routing", "aba", "rtn", "transit number"]),
        ["US_BANK_NUMBER"] = () => Make("US_BANK_NUMBER", @"(?<![\w-])\d{8,17}(?![\w-])", 17, null, ["account", "acct", "bank"]),
        ["US_PASSPORT"] = () => Make("US_PASSPORT", @"(?<![\w-])[A-Z]?\d{8,9}(?![\w-])", 10, v => v.Length == 9, ["passport"]),
        ["US_DRIVER_LICENSE"] = () => Make("US_DRIVER_LICENSE", @"(?<![\w-])(?:[A-Z]{1,2}\d{4,12}|\d{7,12})(?![\w-])", 14, null,
            ["driver", "driving", "licence", "license", "dl#", "dl no", "dl number"]),
        // ITIN: 9XX-[50-65|70-88|90-92|94-99]-XXXX; nine bare digits only next to a tax word.
        ["US_ITIN"] = () => Make("US_ITIN", @"(?<![\w-])9\d\d(?<sep>[- ]?)(?:5\d|6[0-5]|7\d|8[0-8]|9[0-2]|9[4-9])\k<sep>\d{4}(?![\w-])", 11,
            null, ["itin", "taxpayer", "tax id", "tax identification"], contextOnlyWhenBare: true),
        // UK: the NHS number's mod 11 passes one in eleven ten-digit numbers (phone numbers among them).
        ["UK_NHS"] = () => Make("UK_NHS", @"(?<![\w-])\d{3}[ -]?\d{3}[ -]?\d{4}(?![\w-])", 12, v => IdChecksums.NhsNumber(v),
            ["nhs", "health", "patient", "hospital", "gp "]),
        ["UK_NINO"] = () => Make("UK_NINO", @"(?<!\w)(?!BG|GB|NK|KN|TN|NT|ZZ)[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z] ?\d\d ?\d\d ?\d\d ?[A-D](?!\w)", 13, null, null),
        // India: PAN's fourth letter is the holder type; Aadhaar is twelve digits with a Verhoeff check,
        // which one twelve-digit account number in ten passes: it needs its name nearby.
        ["IN_PAN"] = () => Make("IN_PAN", @"(?<!\w)[A-Z]{3}[ABCFGHLJPT][A-Z]\d{4}[A-Z](?!\w)", 10, null, null),
        ["IN_AADHAAR"] = () => Make("IN_AADHAAR", @"(?<![\w-])[2-9]\d{3}[ -]?\d{4}[ -]?\d{4}(?![\w-])", 14,
            v => IdChecksums.Verhoeff(v) && !IsPalindrome(v), ["aadhaar", "aadhar", "uid", "uidai"]),
        // Australia: TFN, ACN and Medicare checks pass one number in ten or eleven: context required. ABN's mod 89 is strong.
        ["AU_TFN"] = () => Make("AU_TFN", @"(?<![\w-])\d{3} ?\d{3} ?\d{3}(?![\w-])", 11, v => IdChecksums.AuTfn(v), ["tfn", "tax file"]),
        ["AU_ABN"] = () => Make("AU_ABN", @"(?<![\w-])\d\d ?\d{3} ?\d{3} ?\d{3}(?![\w-])", 14, v => IdChecksums.AuAbn(v), null),
        ["AU_ACN"] = () => Make("AU_ACN", @"(?<![\w-])\d{3} ?\d{3} ?\d{3}(?![\w-])", 11, v => IdChecksums.AuAcn(v), ["acn", "company number", "australian company"]),
        ["AU_MEDICARE"] = () => Make("AU_MEDICARE", @"(?<![\w-])[2-6]\d{3} ?\d{5} ?\d(?: ?\d)?(?![\w-])", 14, v => IdChecksums.AuMedicare(v), ["medicare"]),
        ["SG_NRIC_FIN"] = () => Make("SG_NRIC_FIN", @"(?<!\w)[STFG]\d{7}[A-Z](?!\w)", 9, v => IdChecksums.SgNric(v), null),
        ["ES_NIF"] = () => Make("ES_NIF", @"(?<![\w-])(?:\d{8}|[XYZ]\d{7})-?[A-Z](?![\w-])", 10, v => IdChecksums.EsNif(v), null),
        ["IT_FISCAL_CODE"] = () => Make("IT_FISCAL_CODE",
            @"(?<!\w)[A-Z]{6}[\dLMNPQRSTUV]{2}[ABCDEHLMPRST][\dLMNPQRSTUV]{2}[A-Z][\dLMNPQRSTUV]{3}[A-Z](?!\w)", 16, v => IdChecksums.ItFiscalCode(v), null),
    };

    // First two digits of a routing number: Federal Reserve districts (00–12), thrifts (21–32),
    // electronic (61–72) and traveller's cheques (80).
    private static bool AbaPrefix(string d)
    {
        var p = (d[0] - '0') * 10 + d[1] - '0';
        return p is <= 12 or (>= 21 and <= 32) or (>= 61 and <= 72) or 80;
    }

    private static bool IsPalindrome(string d) => d.SequenceEqual(d.Reverse());

    /// <summary>
    /// A recognizer over letters folded to upper case and digits of any script (<see cref="FormatFolding"/>):
    /// <paramref name="check"/> gets the value without spaces and dashes; <paramref name="context"/>, when
    /// given, must occur before the value (only for an ungrouped value with <paramref name="contextOnlyWhenBare"/>).
    /// </summary>
    private static PatternRecognizer Make(string entity, string pattern, int longest, Func<string, bool>? check, string[]? context, bool contextOnlyWhenBare = false) =>
        new(entity, PatternRecognizer.Compile(pattern, RegexOptions.IgnoreCase), longest + (context is null ? 0 : ContextWindow), (text, m) =>
        {
            var value = FormatFolding.Fold(m.Value, " -");
            if (check is not null && !check(value))
            {
                return false;
            }
            var needsContext = context is not null && (!contextOnlyWhenBare || value.Length == m.Value.Length);
            return !needsContext || PatternRecognizer.PrecededBy(text, m.Index, ContextWindow, context!);
        });
}
