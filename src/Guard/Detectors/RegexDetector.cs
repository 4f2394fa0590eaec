using System.Text.RegularExpressions;

namespace Mesh.Guard.Detectors;

/// <summary>
/// Policy-supplied regular expressions. They run on .NET's non-backtracking engine, so a pattern
/// from a policy file cannot make a check take exponential time (and patterns that need
/// backtracking, like back-references, are rejected when the policy loads).
/// </summary>
public sealed class RegexDetector(IReadOnlyList<(string Name, Regex Pattern)> patterns) : IDetector
{
    public string Category => "regex";

    public IEnumerable<Finding> Detect(DetectionContext context)
    {
        foreach (var (name, pattern) in patterns)
        {
            foreach (Match m in pattern.Matches(context.Text))
            {
                if (m.Length > 0)
                {
                    yield return new Finding(name, m.Index, m.Index + m.Length, 1f, $"Matched blocked pattern '{name}'");
                }
            }
        }
    }

    public static Regex Compile(string pattern, bool caseSensitive) =>
        new(pattern, RegexOptions.NonBacktracking | RegexOptions.CultureInvariant | (caseSensitive ? RegexOptions.None : RegexOptions.IgnoreCase));
}
