using System.Text.RegularExpressions;
using Json.Schema;
using Json.Schema.Keywords;

namespace Mesh.Guard.Schema;

/// <summary>
/// Regular expressions that come with a caller's schema (<c>pattern</c>, <c>patternProperties</c>).
/// JsonSchema.Net compiles them for its backtracking engine without a time limit, so
/// <c>{"pattern":"^(a+)+$"}</c> against <c>"aaaa…!"</c> would hold a thread for as long as the
/// universe lasts (catastrophic backtracking). After the library builds a schema, every such
/// expression is replaced by the same pattern on .NET's non-backtracking engine: matching is linear
/// in the length of the string, and patterns that need backtracking (look-arounds,
/// back-references, atomic groups) are refused. Unlike ECMA-262, <c>\d</c>, <c>\w</c> and <c>\s</c>
/// match Unicode classes.
/// </summary>
public static class LinearPatterns
{
    /// <summary>Replaces the expressions of every subschema reachable from <paramref name="schema"/>.</summary>
    /// <exception cref="JsonSchemaException">A pattern the linear engine cannot run.</exception>
    public static void Apply(JsonSchema schema)
    {
        var seen = new HashSet<JsonSchemaNode>(ReferenceEqualityComparer.Instance);
        var pending = new Stack<JsonSchemaNode>();
        pending.Push(schema.Root);
        // Iterative, with a visited set: $ref makes the node graph cyclic.
        while (pending.TryPop(out var node))
        {
            if (!seen.Add(node))
            {
                continue;
            }
            foreach (var keyword in node.Keywords)
            {
                keyword.Value = keyword switch
                {
                    { Handler: PatternKeyword, Value: Regex r } => Compile(r.ToString(), "pattern"),
                    { Handler: PatternPropertiesKeyword, Value: Dictionary<string, Regex> map } =>
                        map.ToDictionary(kv => kv.Key, kv => Compile(kv.Key, "patternProperties"), StringComparer.Ordinal),
                    _ => keyword.Value,
                };
                foreach (var sub in keyword.Subschemas)
                {
                    pending.Push(sub);
                }
            }
        }
    }

    /// <summary>Compiles a schema's pattern for linear-time matching, or says why it cannot be.</summary>
    public static Regex Compile(string pattern, string keyword)
    {
        try
        {
            return new Regex(pattern, RegexOptions.NonBacktracking | RegexOptions.CultureInvariant);
        }
        catch (Exception e) when (e is ArgumentException or NotSupportedException)
        {
            throw new JsonSchemaException(
                $"{keyword} '{pattern}' cannot be used: Guard matches schema patterns in linear time, without look-arounds, back-references or atomic groups ({e.Message})");
        }
    }
}
