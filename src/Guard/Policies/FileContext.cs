using System.Globalization;
using YamlDotNet.RepresentationModel;

namespace Mesh.Guard.Policies;

/// <summary>Typed, position-aware reads of YAML nodes: each failure names the line and column.</summary>
internal sealed class FileContext(string source)
{
    /// <summary>The policy file's name as errors give it (its path when loaded from disk).</summary>
    public string Source => source;

    public PolicyFileException Error(YamlNode node, string problem) => new(source, node.Start.Line, node.Start.Column, problem);

    public YamlMappingNode Mapping(YamlNode node, string what) =>
        node as YamlMappingNode ?? throw Error(node, $"{what} must be a mapping (key: value lines)");

    public IList<YamlNode> Sequence(YamlNode node, string what) =>
        (node as YamlSequenceNode)?.Children ?? throw Error(node, $"'{what}' must be a list");

    public YamlNode Required(YamlMappingNode map, string key, string what) =>
        Optional(map, key) ?? throw Error(map, $"{what} is missing '{key}'");

    public YamlNode? Optional(YamlMappingNode map, string key) =>
        map.Children.TryGetValue(new YamlScalarNode(key), out var v) ? v : null;

    public void OnlyKeys(YamlMappingNode map, string what, params string[] allowed)
    {
        foreach (var key in map.Children.Keys)
        {
            var name = (key as YamlScalarNode)?.Value;
            if (name is null || !allowed.Contains(name, StringComparer.Ordinal))
            {
                throw Error(key, $"{what}: unknown key '{name}'; allowed: {string.Join(", ", allowed)}");
            }
        }
    }

    public string String(YamlNode node, string what) =>
        (node as YamlScalarNode)?.Value ?? throw Error(node, $"'{what}' must be a text value");

    public char Char(YamlNode node, string what)
    {
        var s = String(node, what);
        return s.Length == 1 ? s[0] : throw Error(node, $"'{what}' must be exactly one character");
    }

    public bool Bool(YamlNode node, string what) => String(node, what) switch
    {
        "true" => true,
        "false" => false,
        var v => throw Error(node, $"'{what}' must be true or false, not '{v}'"),
    };

    public int Int(YamlNode node, string what, int min, int max)
    {
        var s = String(node, what);
        return int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) && v >= min && v <= max
            ? v
            : throw Error(node, $"'{what}' must be a whole number in [{min}, {max}], not '{s}'");
    }

    public float Float(YamlNode node, string what, float min, float max)
    {
        var s = String(node, what);
        return float.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) && v >= min && v <= max
            ? v
            : throw Error(node, $"'{what}' must be a number in [{min}, {max}], not '{s}'");
    }

    public T Enum<T>(YamlNode node, string what, Dictionary<string, T> values)
    {
        var s = String(node, what);
        return values.TryGetValue(s, out var v) ? v : throw Error(node, $"'{what}' must be one of {string.Join(", ", values.Keys)}, not '{s}'");
    }
}
