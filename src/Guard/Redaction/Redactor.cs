using System.Text;

namespace Mesh.Guard.Redaction;

/// <summary>
/// Applies redactions to a text. Overlapping or touching spans are merged first and the merged
/// span is replaced once (by the operator of its most severe member), so no character of any
/// detected span survives and no character outside every span is touched.
/// </summary>
public static class Redactor
{
    /// <summary>A span to redact: [Start, End) in UTF-16 units, and how; Rank orders competing operators (higher wins).</summary>
    public readonly record struct Redaction(int Start, int End, string EntityType, RedactionOperator Operator, int Rank);

    /// <summary><paramref name="text"/> with each span of <paramref name="redactions"/> replaced by its operator's output; overlapping or touching spans merge, the higher <see cref="Redaction.Rank"/> deciding the operator.</summary>
    public static string Apply(string text, IReadOnlyList<Redaction> redactions)
    {
        if (redactions.Count == 0)
        {
            return text;
        }
        var sorted = redactions.Where(r => r.End > r.Start).OrderBy(r => r.Start).ThenByDescending(r => r.End).ToList();
        var sb = new StringBuilder(text.Length);
        var cursor = 0;
        var i = 0;
        while (i < sorted.Count)
        {
            var group = sorted[i];
            var start = group.Start;
            var end = group.End;
            var winner = group;
            i++;
            while (i < sorted.Count && sorted[i].Start <= end)
            {
                end = Math.Max(end, sorted[i].End);
                if (sorted[i].Rank > winner.Rank)
                {
                    winner = sorted[i];
                }
                i++;
            }
            // Never split a surrogate pair: widen the span to whole code points.
            if (start > 0 && char.IsLowSurrogate(text[start]) && char.IsHighSurrogate(text[start - 1]))
            {
                start--;
            }
            if (end < text.Length && char.IsLowSurrogate(text[end]) && char.IsHighSurrogate(text[end - 1]))
            {
                end++;
            }
            start = Math.Max(start, cursor);
            sb.Append(text, cursor, start - cursor);
            sb.Append(winner.Operator.Apply(winner.EntityType, text[start..end]));
            cursor = end;
        }
        sb.Append(text, cursor, text.Length - cursor);
        return sb.ToString();
    }
}
