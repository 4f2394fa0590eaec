using System.Text.Json.Nodes;

namespace Mesh.Inference.Tests.StructuredOutput;

/// <summary>
/// Seeded generators of schemas, patterns and choice lists for the property tests. Every generated
/// schema uses only supported keywords, and bounds its strings so that random models can finish.
/// </summary>
internal static class RandomFormats
{
    private static readonly string[] Words = ["id", "name", "ok", "items", "kind", "n", "tag", "when", "mail", "ref"];
    private static readonly string[] Formats = ["date", "time", "date-time", "uuid", "email"];

    public static string Schema(int seed)
    {
        var random = new Random(seed);
        JsonNode schema = (seed % 10) switch
        {
            0 => Recursive(),
            1 => new JsonObject { ["anyOf"] = new JsonArray(Leaf(random), Leaf(random)) },
            2 => new JsonObject { ["oneOf"] = new JsonArray(new JsonObject { ["type"] = "integer", ["minimum"] = -5, ["maximum"] = 50 }, new JsonObject { ["type"] = "string", ["maxLength"] = 3 }) },
            3 => new JsonObject
            {
                ["allOf"] = new JsonArray(
                    new JsonObject { ["type"] = "object", ["properties"] = new JsonObject { ["a"] = new JsonObject { ["type"] = "integer", ["minimum"] = 0 } }, ["required"] = new JsonArray("a") },
                    new JsonObject { ["properties"] = new JsonObject { ["a"] = new JsonObject { ["maximum"] = 99 }, ["b"] = Leaf(random) } }),
            },
            4 or 5 => Array(random, 1),
            _ => Object(random, 1),
        };
        return schema.ToJsonString();
    }

    private static JsonObject Recursive() => JsonNode.Parse("""
        {"$defs":{"node":{"type":"object","properties":{"v":{"type":"integer","minimum":0,"maximum":9},
          "next":{"anyOf":[{"$ref":"#/$defs/node"},{"type":"null"}]}},"required":["v","next"],"additionalProperties":false}},
         "$ref":"#/$defs/node"}
        """)!.AsObject();

    private static JsonObject Object(Random random, int depth)
    {
        var properties = new JsonObject();
        var required = new JsonArray();
        var count = random.Next(1, 4);
        foreach (var name in Words.OrderBy(_ => random.Next()).Take(count))
        {
            properties[name] = depth < 2 && random.Next(4) == 0 ? (random.Next(2) == 0 ? Object(random, depth + 1) : Array(random, depth + 1)) : Leaf(random);
            if (random.Next(2) == 0)
            {
                required.Add(name);
            }
        }

        var o = new JsonObject { ["type"] = "object", ["properties"] = properties, ["required"] = required };
        if (random.Next(2) == 0)
        {
            o["additionalProperties"] = false;
        }

        return o;
    }

    private static JsonObject Array(Random random, int depth)
    {
        var a = new JsonObject { ["type"] = "array", ["items"] = depth < 2 && random.Next(3) == 0 ? Object(random, depth + 1) : Leaf(random) };
        var min = random.Next(0, 2);
        a["minItems"] = min;
        a["maxItems"] = min + random.Next(0, 3);
        if (random.Next(3) == 0)
        {
            a["prefixItems"] = new JsonArray(Leaf(random), Leaf(random));
        }

        return a;
    }

    private static JsonObject Leaf(Random random)
    {
        switch (random.Next(12))
        {
            case 0:
                var max = random.Next(0, 6);
                return new JsonObject { ["type"] = "string", ["minLength"] = random.Next(0, max + 1), ["maxLength"] = max };
            case 1:
                return new JsonObject { ["type"] = "string", ["format"] = Formats[random.Next(Formats.Length)] };
            case 2:
                return new JsonObject { ["type"] = "string", ["pattern"] = "^" + Pattern(random) + "$" };
            case 3:
                var lo = random.Next(-1000, 1000);
                return new JsonObject { ["type"] = "integer", ["minimum"] = lo, ["maximum"] = lo + random.Next(0, 3000) };
            case 4:
                return new JsonObject { ["type"] = "integer" };
            case 5:
                return new JsonObject { ["type"] = "number" };
            case 6:
                return new JsonObject { ["type"] = "boolean" };
            case 7:
                return new JsonObject { ["type"] = new JsonArray("string", "null"), ["maxLength"] = random.Next(0, 4) };
            case 8:
                return new JsonObject { ["enum"] = new JsonArray("red", "green", "blü", 3, null, true) };
            case 9:
                return new JsonObject { ["const"] = "fixed \"quoted\" \\ value" };
            case 10:
                return new JsonObject { ["type"] = new JsonArray("integer", "boolean", "null") };
            default:
                return new JsonObject { ["type"] = "string", ["pattern"] = "[0-9]x" }; // unanchored: search semantics
        }
    }

    /// <summary>A random pattern in the supported regex subset, short enough for random models to finish.</summary>
    public static string Pattern(Random random)
    {
        string[] atoms = ["[a-z]", "\\d", "[A-F0-9]", "(?:ab|cd)", "x", "é", "[^\"\\\\]", "\\w", "-", "[.:]", "(?:ja|nein|日本)", "\\s"];
        string[] quantifiers = ["", "", "?", "{1,3}", "{2}", "+", "*"];
        var parts = random.Next(1, 5);
        var result = new System.Text.StringBuilder();
        for (var i = 0; i < parts; i++)
        {
            var atom = atoms[random.Next(atoms.Length)];
            var q = quantifiers[random.Next(quantifiers.Length)];
            result.Append(atom).Append(q is "+" or "*" && random.Next(2) == 0 ? "{0,4}" : q);
        }

        return result.ToString();
    }

    public static string[] Choices(Random random)
    {
        string[] pool = ["yes", "no", "maybe", "café", "naïve", "日本語", "ye", "y", "\"quoted\"", "two words", "😀 emoji", "a\nb", "0", "01", "null"];
        return pool.OrderBy(_ => random.Next()).Take(random.Next(2, 7)).ToArray();
    }
}
