using System.Text.RegularExpressions;

namespace Mesh.Guard.Detectors.Pii;

/// <summary>
/// Finds one entity type: a regular expression proposes candidates and a validator (checksum,
/// range rules, context) accepts or rejects each, the way Presidio's pattern recognizers work.
/// The reported span is the named group <c>value</c> when the pattern has one, else the match.
/// </summary>
public sealed class PatternRecognizer(string entityType, Regex pattern, Func<string, Match, bool>? validate = null, bool isFallback = false)
{
    public string EntityType { get; } = entityType;

    /// <summary>
    /// A catch-all (such as a high-entropy value after "token=") whose finding is dropped where a
    /// specific recognizer of the same detector already names the span.
    /// </summary>
    public bool IsFallback { get; } = isFallback;

    public IEnumerable<(int Start, int End)> Find(string text)
    {
        foreach (Match m in pattern.Matches(text))
        {
            if (validate is not null && !validate(text, m))
            {
                continue;
            }
            var g = m.Groups["value"];
            yield return g.Success ? (g.Index, g.Index + g.Length) : (m.Index, m.Index + m.Length);
        }
    }

    /// <summary>Options every built-in pattern uses; the timeout bounds a pathological input.</summary>
    public static Regex Compile(string pattern, RegexOptions extra = RegexOptions.None) =>
        new(pattern, RegexOptions.Compiled | RegexOptions.CultureInvariant | RegexOptions.ExplicitCapture | extra,
            TimeSpan.FromSeconds(1));

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
