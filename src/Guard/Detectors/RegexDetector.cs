using System.Text.RegularExpressions;

namespace Mesh.Guard.Detectors;

/// <summary>
/// Policy-supplied regular expressions. They run on .NET's non-backtracking engine, so a pattern
/// from a policy file cannot make a check take exponential time (and patterns that need
/// backtracking, like back-references, are rejected when the policy loads).
/// </summary>
/// <param name="patterns">The rule's named patterns (compiled with <see cref="Compile"/>).</param>
/// <param name="reach">How far a match reaches, which a policy's pattern cannot tell: the rule's
/// <c>stream_window</c> (default <see cref="DefaultStreamWindow"/>), and <see cref="StreamLookAhead"/>
/// after it. In a stream, a match longer than the window may be reported only in the final message,
/// and one that could still grow by more than the look-ahead (<c>foo.*</c>) with a shorter span.</param>
public sealed class RegexDetector(IReadOnlyList<(string Name, Regex Pattern)> patterns, StreamReach reach) : IDetector
{
    /// <summary>Default <c>stream_window</c> of a regex rule, in characters.</summary>
    public const int DefaultStreamWindow = 256;

    /// <summary>Characters that must follow a match in a stream before it is reported.</summary>
    public const int StreamLookAhead = 32;

    /// <inheritdoc/>
    public string Category => "regex";

    /// <inheritdoc />
    public StreamReach Reach { get; } = reach;

    /// <inheritdoc/>
    public IEnumerable<Finding> Detect(DetectionContext context)
    {
        var from = context.ScanFrom == 0 ? 0 : Math.Max(0, context.ScanFrom - Reach.Behind);
        foreach (var (name, pattern) in patterns)
        {
            for (var m = pattern.Match(context.Text, from); m.Success; m = m.NextMatch())
            {
                if (m.Length > 0)
                {
                    yield return new Finding(name, m.Index, m.Index + m.Length, 1f, $"Matched blocked pattern '{name}'");
                }
            }
        }
    }

    /// <summary>Compiles a policy's <paramref name="pattern"/> with the non-backtracking engine (linear time in the text, so a hostile pattern cannot stall a check), culture-invariant, ignoring case unless <paramref name="caseSensitive"/>.</summary>
    /// <exception cref="ArgumentException">The pattern is invalid or uses a construct the non-backtracking engine refuses (back-references, look-arounds).</exception>
    public static Regex Compile(string pattern, bool caseSensitive) =>
        new(pattern, RegexOptions.NonBacktracking | RegexOptions.CultureInvariant | (caseSensitive ? RegexOptions.None : RegexOptions.IgnoreCase));
}
