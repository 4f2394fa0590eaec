using System.Text.Json;
using System.Text.Json.Nodes;

namespace Mesh.Inference.StructuredOutput;

/// <summary>allOf (by merging) and oneOf (by proving its branches disjoint) for <see cref="JsonSchemaCompiler"/>.</summary>
internal sealed partial class JsonSchemaCompiler
{
    private static readonly HashSet<string> Lower = new(StringComparer.Ordinal) { "minimum", "exclusiveMinimum", "minLength", "minItems" };
    private static readonly HashSet<string> Upper = new(StringComparer.Ordinal) { "maximum", "exclusiveMaximum", "maxLength", "maxItems" };

    private JsonNode MergeAllOf(JsonObject s, string path, int depth)
    {
        if (s["allOf"] is not JsonArray branches || branches.Count == 0)
        {
            throw new GrammarException($"{path}/allOf: must be a non-empty array of schemas");
        }

        var parts = new List<JsonNode> { new JsonObject(s.Where(p => p.Key != "allOf" && !Annotations.Contains(p.Key)).Select(p => KeyValuePair.Create(p.Key, p.Value?.DeepClone()))) };
        parts.AddRange(branches.Select(b => Resolve(b, depth)));
        return Merge(parts, path + "/allOf");
    }

    /// <summary>
    /// One schema that every instance valid against all of <paramref name="parts"/> satisfies and that
    /// admits only such instances: properties merged (a name in two parts gets allOf of both),
    /// required and types intersected, bounds tightened; any other keyword must agree where it repeats.
    /// </summary>
    private JsonNode Merge(List<JsonNode> parts, string path)
    {
        var merged = new JsonObject();
        var propertyOwners = 0;
        var additionalOwners = 0;
        foreach (var part in parts)
        {
            if (part is JsonValue v && v.TryGetValue<bool>(out var b))
            {
                if (!b)
                {
                    return JsonValue.Create(false);
                }

                continue;
            }

            var o = part as JsonObject ?? throw new GrammarException($"{path}: a schema must be an object or a boolean");
            if (o["allOf"] is not null)
            {
                o = (JsonObject)MergeAllOf(o, path, 0);
            }

            propertyOwners += o.ContainsKey("properties") || o.ContainsKey("required") ? 1 : 0;
            additionalOwners += o.ContainsKey("additionalProperties") ? 1 : 0;
            foreach (var (key, value) in o)
            {
                if (Annotations.Contains(key))
                {
                    continue;
                }

                if (!merged.ContainsKey(key))
                {
                    merged[key] = value?.DeepClone();
                    continue;
                }

                merged[key] = key switch
                {
                    "properties" => MergeProperties((JsonObject)merged[key]!, value as JsonObject ?? throw new GrammarException($"{path}/properties: must be an object")),
                    "required" => new JsonArray([.. ((JsonArray)merged[key]!).Concat(value as JsonArray ?? []).Select(n => n!.GetValue<string>()).Distinct().Select(n => (JsonNode)JsonValue.Create(n)!)]),
                    "type" => IntersectTypes(merged[key]!, value!, path),
                    _ when Lower.Contains(key) => merged[key]!.GetValue<double>() >= value!.GetValue<double>() ? merged[key]!.DeepClone() : value.DeepClone(),
                    _ when Upper.Contains(key) => merged[key]!.GetValue<double>() <= value!.GetValue<double>() ? merged[key]!.DeepClone() : value.DeepClone(),
                    _ when JsonNode.DeepEquals(merged[key], value) => merged[key]!.DeepClone(),
                    _ => throw new GrammarException($"{path}: '{key}' appears in several allOf parts with different values; merge them by hand"),
                };
            }
        }

        // additionalProperties only sees its own schema's properties: merging it with another part's
        // properties would change what it forbids.
        if (additionalOwners > 0 && propertyOwners > 1)
        {
            throw new GrammarException($"{path}: additionalProperties combined with properties from another allOf part is not supported");
        }

        return merged;
    }

    private static JsonObject MergeProperties(JsonObject a, JsonObject b)
    {
        var result = (JsonObject)a.DeepClone();
        foreach (var (name, schema) in b)
        {
            result[name] = result[name] is { } existing ? new JsonObject { ["allOf"] = new JsonArray(existing.DeepClone(), schema?.DeepClone()) } : schema?.DeepClone();
        }

        return result;
    }

    private static JsonNode IntersectTypes(JsonNode a, JsonNode b, string path)
    {
        static HashSet<string> Set(JsonNode n) => n is JsonArray arr ? arr.Select(t => t!.GetValue<string>()).ToHashSet() : [n.GetValue<string>()];
        var x = Set(a);
        var y = Set(b);
        var result = x.Where(t => y.Contains(t) || (t == "integer" && y.Contains("number"))).Concat(y.Where(t => t == "integer" && x.Contains("number"))).Distinct().ToList();
        return result.Count == 0
            ? throw new GrammarException($"{path}: the allOf parts allow no common type")
            : new JsonArray([.. result.Select(t => (JsonNode)JsonValue.Create(t)!)]);
    }

    /// <summary>
    /// Refuses a oneOf whose branches might both match one instance (generating from their union could
    /// then produce an instance valid for two, which oneOf rejects). Branches are disjoint when they
    /// produce different JSON types, are literal sets with no common value, or are objects that all
    /// require one property whose const/enum values differ between branches (a discriminator).
    /// </summary>
    private void CheckDisjoint(List<JsonNode> branches, string path)
    {
        var kinds = branches.Select(Kinds).ToList();
        var literals = branches.Select(Literal).ToList();
        for (var i = 0; i < branches.Count; i++)
        {
            for (var j = i + 1; j < branches.Count; j++)
            {
                if (!kinds[i].Overlaps(kinds[j]))
                {
                    continue;
                }

                if (literals[i] is { } li && literals[j] is { } lj && !li.Overlaps(lj))
                {
                    continue;
                }

                if (Discriminated(branches[i], branches[j]))
                {
                    continue;
                }

                throw new GrammarException($"{path}/oneOf: branches {i} and {j} may both match one value, which oneOf forbids; use anyOf, or make them differ by type or by a required const property");
            }
        }
    }

    private HashSet<string> Kinds(JsonNode branch)
    {
        if (branch is not JsonObject o)
        {
            return ["null", "boolean", "object", "array", "number", "string"];
        }

        if (Literal(o) is { } values)
        {
            return values.Select(v => JsonNode.Parse(v)?.GetValueKind() switch
            {
                JsonValueKind.Null or null => "null",
                JsonValueKind.True or JsonValueKind.False => "boolean",
                JsonValueKind.Object => "object",
                JsonValueKind.Array => "array",
                JsonValueKind.Number => "number",
                _ => "string",
            }).ToHashSet();
        }

        if (o.ContainsKey("anyOf") || o.ContainsKey("oneOf") || o.ContainsKey("allOf") || o.ContainsKey("$ref"))
        {
            return ["null", "boolean", "object", "array", "number", "string"];
        }

        return TypesOf(o, "").Select(t => t == "integer" ? "number" : t).ToHashSet();
    }

    /// <summary>The canonical texts of a const/enum branch's values; null when it is not one.</summary>
    private static HashSet<string>? Literal(JsonNode? branch) => branch switch
    {
        JsonObject o when o["const"] is { } c => [c.ToJsonString()],
        JsonObject o when o["enum"] is JsonArray e => e.Select(v => v?.ToJsonString() ?? "null").ToHashSet(),
        _ => null,
    };

    private bool Discriminated(JsonNode a, JsonNode b)
    {
        if (a is not JsonObject x || b is not JsonObject y || x["properties"] is not JsonObject px || y["properties"] is not JsonObject py)
        {
            return false;
        }

        var rx = (x["required"] as JsonArray ?? []).Select(n => n?.ToString()).ToHashSet();
        var ry = (y["required"] as JsonArray ?? []).Select(n => n?.ToString()).ToHashSet();
        foreach (var (name, schema) in px)
        {
            if (rx.Contains(name) && ry.Contains(name) && Literal(Resolve(schema, 0)) is { } vx && py[name] is { } other && Literal(Resolve(other, 0)) is { } vy && !vx.Overlaps(vy))
            {
                return true;
            }
        }

        return false;
    }
}
