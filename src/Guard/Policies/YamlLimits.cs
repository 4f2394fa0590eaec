using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace Mesh.Guard.Policies;

/// <summary>
/// Bounds a policy file before YamlDotNet builds its node tree. The tree is built recursively (one
/// nested call per level), so 100,000 opening brackets would end the process with a stack
/// overflow; and aliases are shared, not copied, until something walks them (an inline schema is
/// converted to JSON), so a "billion laughs" file of nested aliases would expand exponentially.
/// This pass reads the file as a flat stream of parser events (no recursion) and refuses nesting
/// deeper than <see cref="MaxDepth"/> and more than <see cref="MaxExpandedNodes"/> nodes once
/// aliases are expanded, naming the line and column where the limit was passed.
/// </summary>
internal static class YamlLimits
{
    /// <summary>Deepest nesting of mappings and lists. The shipped files use 6; inline schemas a few more.</summary>
    public const int MaxDepth = 64;

    /// <summary>Most nodes the file may describe, counting each alias as the nodes it stands for.</summary>
    public const long MaxExpandedNodes = 200_000;

    /// <summary>
    /// One parser step. YamlDotNet's scanner throws <see cref="YamlException"/> for the syntax errors
    /// it knows, and other exceptions (InvalidOperationException from ScanPlainScalar, found by
    /// fuzzing) for some it does not: those are reported after the last event that parsed.
    /// </summary>
    private static bool Next(Parser parser, string source, Mark last)
    {
        try
        {
            return parser.MoveNext();
        }
        catch (Exception e) when (e is not YamlException and not OutOfMemoryException)
        {
            throw new PolicyFileException(source, Math.Max(1, last.Line), Math.Max(1, last.Column),
                $"not valid YAML after this point ({e.GetType().Name}: {e.Message})", e);
        }
    }

    /// <summary>Throws <see cref="PolicyFileException"/> when a limit is passed; YAML syntax errors surface as <see cref="YamlException"/>.</summary>
    public static void Check(string text, string source)
    {
        var parser = new Parser(new StringReader(text));
        var sizes = new Dictionary<string, long>(StringComparer.Ordinal);
        var open = new Stack<(string Anchor, long Nodes)>();
        long total = 0;
        var last = Mark.Empty;
        while (Next(parser, source, last))
        {
            var e = parser.Current!;
            last = e.End;
            long added;
            switch (e)
            {
                case SequenceStart or MappingStart:
                    if (open.Count >= MaxDepth)
                    {
                        throw new PolicyFileException(source, e.Start.Line, e.Start.Column,
                            $"nesting deeper than {MaxDepth} levels; a policy file needs far fewer");
                    }
                    open.Push((((NodeEvent)e).Anchor.IsEmpty ? "" : ((NodeEvent)e).Anchor.Value, 1));
                    continue;
                case SequenceEnd or MappingEnd:
                    var (anchor, nodes) = open.Pop();
                    if (anchor.Length > 0)
                    {
                        sizes[anchor] = nodes;
                    }
                    added = nodes;
                    break;
                case Scalar s:
                    if (!s.Anchor.IsEmpty)
                    {
                        sizes[s.Anchor.Value] = 1;
                    }
                    added = 1;
                    break;
                case AnchorAlias a:
                    added = sizes.GetValueOrDefault(a.Value.Value, 1);
                    break;
                default:
                    continue;
            }
            long count;
            if (open.Count > 0)
            {
                var (anchor, nodes) = open.Pop();
                count = nodes + added;
                open.Push((anchor, count));
            }
            else
            {
                count = total += added;
            }
            if (count > MaxExpandedNodes)
            {
                throw new PolicyFileException(source, e.Start.Line, e.Start.Column,
                    $"the file describes more than {MaxExpandedNodes} values once its aliases (*name) are expanded");
            }
        }
    }
}
