using System.Globalization;
using System.Text.Json.Nodes;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Mesh.Guard.Policies;

/// <summary>Inline JSON Schemas written as YAML in a policy file, converted to JSON.</summary>
internal static class YamlJson
{
    /// <summary>
    /// YAML to JSON for inline schemas: plain scalars keep their YAML types, quoted ones are strings.
    /// Recursive, but <see cref="YamlLimits"/> has bounded the depth and the alias expansion.
    /// </summary>
    public static JsonNode? ToJson(FileContext file, YamlNode node) => node switch
    {
        YamlMappingNode m => m.Children.Aggregate(new JsonObject(), (o, kv) =>
            o.TryAdd((kv.Key as YamlScalarNode)?.Value ?? throw file.Error(kv.Key, "schema keys must be text"), ToJson(file, kv.Value))
                ? o
                : throw file.Error(kv.Key, "this key appears twice in the schema")),
        YamlSequenceNode s => new JsonArray(s.Children.Select(c => ToJson(file, c)).ToArray()),
        YamlScalarNode { Style: ScalarStyle.Plain } p => p.Value switch
        {
            null or "null" or "~" or "" => null,
            "true" => JsonValue.Create(true),
            "false" => JsonValue.Create(false),
            var v when long.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out var l) => JsonValue.Create(l),
            var v when double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out var dbl) => double.IsFinite(dbl)
                ? JsonValue.Create(dbl)
                : throw file.Error(p, $"'{v}' is not a number JSON can hold; quote it if it is text"),
            var v => JsonValue.Create(v),
        },
        YamlScalarNode q => JsonValue.Create(q.Value),
        _ => throw file.Error(node, "not a YAML value a schema can hold"),
    };
}
