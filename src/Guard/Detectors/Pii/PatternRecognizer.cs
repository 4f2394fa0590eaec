using System.Text.RegularExpressions;

namespace Mesh.Guard.Detectors.Pii;

/// <summary>
/// Finds one entity type: a regular expression proposes candidates and a validator (checksum,
/// range rules, context) accepts or rejects each, the way Presidio's pattern recognizers work.
/// The reported span is the named group <c>value</c> when the pattern has one, else the match.
/// </summary>
/// <param name="entityType">The entity type its findings carry.</param>
/// <param name="pattern">Proposes candidates; compile it with <see cref="Compile"/>.</param>
/// <param name="validate">Accepts or rejects a candidate (text, match); null accepts every match.</param>
/// <param name="isFallback">A catch-all whose finding is dropped where a specific recognizer of the same detector names the span (<see cref="IsFallback"/>).</param>
/// <param name="maxLength">The longest match the pattern can make plus the context its
/// look-behinds and validator read before it, in UTF-16 units (every built-in pattern's
/// repetitions are bounded so that this exists). A streaming check rescans this much.</param>
/// <param name="lookAhead">Characters past a match's end that can still change it (its
/// look-aheads, a repetition's next separator and digits); <see cref="LookAhead"/> by default.</param>
public sealed class PatternRecognizer(string entityType, Regex pattern, int maxLength, Func<string, Match, bool>? validate = null, bool isFallback = false, int lookAhead = PatternRecognizer.LookAhead) : IRecognizer
{
    /// <summary>Default characters past a match's end that can still change it: look-aheads and a repetition's next separator and digits.</summary>
    public const int LookAhead = 4;

    /// <summary>See the constructor's <c>lookAhead</c>.</summary>
    public int MatchLookAhead { get; } = lookAhead;

    /// <summary>The entity type its findings carry (Presidio's names: <c>EMAIL_ADDRESS</c>, <c>CREDIT_CARD</c>, …).</summary>
    public string EntityType { get; } = entityType;

    /// <summary>See the constructor's <c>maxLength</c>.</summary>
    public int MaxLength { get; } = maxLength;

    /// <summary>
    /// A catch-all (such as a high-entropy value after "token=") whose finding is dropped where a
    /// specific recognizer of the same detector already names the span.
    /// </summary>
    public bool IsFallback { get; } = isFallback;

    /// <summary>Matches starting at or after <paramref name="from"/> (the text before it is read as context), each scored 1.</summary>
    public IEnumerable<RecognizerResult> Find(string text, int from = 0)
    {
        for (var m = pattern.Match(text, Math.Clamp(from, 0, text.Length)); m.Success; m = m.NextMatch())
        {
            if (validate is not null && !validate(text, m))
            {
                continue;
            }
            var g = m.Groups["value"];
            yield return g.Success ? new(g.Index, g.Index + g.Length) : new(m.Index, m.Index + m.Length);
        }
    }

    /// <summary>
    /// Options every built-in pattern uses. No match timeout: every repetition in a built-in
    /// pattern is bounded, so a match costs at most a constant per starting position and a check
    /// is linear in the text (itself bounded by Guard:MaxTextChars). A wall-clock timeout instead
    /// fired on harmless text whenever the matching thread stalled — a loaded machine, a GC pause,
    /// the first call's JIT of the compiled pattern — and the check failed with UNKNOWN.
    /// </summary>
    public static Regex Compile(string pattern, RegexOptions extra = RegexOptions.None) =>
        new(pattern, RegexOptions.Compiled | RegexOptions.CultureInvariant | RegexOptions.ExplicitCapture | extra, Regex.InfiniteMatchTimeout);

    /// <summary>True when one of <paramref name="words"/> occurs in the <paramref name="window"/> characters before <paramref name="index"/>.</summary>
    public static bool PrecededBy(string text, int index, int window, IReadOnlyList<string> words)
    {
        var from = Math.Max(0, index - window);
        var before = text.AsSpan(from, index - from);
        foreach (var w in words)
        {
            if (before.Contains(w, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }
        return false;
    }
}
