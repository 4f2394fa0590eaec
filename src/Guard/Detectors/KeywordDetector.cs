using System.Buffers;

namespace Mesh.Guard.Detectors;

/// <summary>
/// A keyword block list: whole-word occurrences of any listed word or phrase. All keywords are
/// searched at once with <see cref="SearchValues{T}"/> (Aho-Corasick / Teddy in the runtime), so
/// the cost does not grow with the length of the list.
/// </summary>
public sealed class KeywordDetector : IDetector
{
    private readonly SearchValues<string> _keywords;
    private readonly HashSet<string> _lookup;
    private readonly int _maxLength;

    /// <summary>Matches any of <paramref name="keywords"/> (at least one, each non-empty) as a whole word, ordinally, ignoring case unless <paramref name="caseSensitive"/>.</summary>
    public KeywordDetector(IReadOnlyCollection<string> keywords, bool caseSensitive)
    {
        var comparison = caseSensitive ? StringComparison.Ordinal : StringComparison.OrdinalIgnoreCase;
        _keywords = SearchValues.Create(keywords.ToArray(), comparison);
        _lookup = new HashSet<string>(keywords, StringComparer.FromComparison(comparison));
        _maxLength = keywords.Max(k => k.Length);
    }

    /// <inheritdoc/>
    public string Category => "keyword";

    /// <inheritdoc />
    /// <remarks>The longest keyword and the character on each side that decides a whole word.</remarks>
    public StreamReach Reach => new(_maxLength + 1, 1);

    /// <inheritdoc/>
    public IEnumerable<Finding> Detect(DetectionContext context)
    {
        var text = context.Text;
        var found = new List<Finding>();
        var offset = context.ScanFrom == 0 ? 0 : Math.Max(0, context.ScanFrom - Reach.Behind);
        while (offset < text.Length)
        {
            var i = text.AsSpan(offset).IndexOfAny(_keywords);
            if (i < 0)
            {
                break;
            }
            var start = offset + i;
            var length = LongestMatchAt(text, start);
            var end = start + length;
            if (IsBoundary(text, start - 1) && IsBoundary(text, end))
            {
                found.Add(new Finding("keyword", start, end, 1f, "Matched a blocked keyword"));
                offset = end;
            }
            else
            {
                offset = start + 1;
            }
        }
        return found;
    }

    // IndexOfAny says where some keyword starts; the longest one that starts there is the match.
    private int LongestMatchAt(string text, int start)
    {
        for (var len = Math.Min(_maxLength, text.Length - start); len > 1; len--)
        {
            if (_lookup.Contains(text.Substring(start, len)))
            {
                return len;
            }
        }
        return 1;
    }

    private static bool IsBoundary(string text, int index) => index < 0 || index >= text.Length || !char.IsLetterOrDigit(text[index]);
}
