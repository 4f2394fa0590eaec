using System.Text.Json;
using System.Text.Json.Nodes;

namespace Mesh.Inference.StructuredOutput;

/// <summary>The type-specific parts of <see cref="JsonSchemaCompiler"/>: numbers, strings, arrays, objects.</summary>
internal sealed partial class JsonSchemaCompiler
{
    private Symbol[] Numeric(JsonObject s, string type, string path)
    {
        long? min = null, max = null;
        if (Number(s, "minimum", path) is { } minimum)
        {
            min = (long)Math.Ceiling(minimum);
        }

        if (Number(s, "exclusiveMinimum", path) is { } exclusiveMinimum)
        {
            min = Math.Max(min ?? long.MinValue, (long)Math.Floor(exclusiveMinimum) + 1);
        }

        if (Number(s, "maximum", path) is { } maximum)
        {
            max = (long)Math.Floor(maximum);
        }

        if (Number(s, "exclusiveMaximum", path) is { } exclusiveMaximum)
        {
            max = Math.Min(max ?? long.MaxValue, (long)Math.Ceiling(exclusiveMaximum) - 1);
        }

        if (min is null && max is null)
        {
            return type == "integer" ? _json.Integer() : _json.Number();
        }

        // Bounded numbers are generated as the integers in range: a subset of what the schema allows.
        return JsonFormats.IntegerRange(_builder, min, max, path);
    }

    private static double? Number(JsonObject s, string key, string path)
    {
        if (s[key] is not { } node)
        {
            return null;
        }

        if (node.GetValueKind() != JsonValueKind.Number)
        {
            throw new GrammarException($"{path}/{key}: must be a number");
        }

        var value = node.GetValue<double>();
        if (Math.Abs(value) > JsonFormats.MaxBound)
        {
            throw new GrammarException($"{path}/{key}: bounds beyond ±{JsonFormats.MaxBound} are not supported");
        }

        return value;
    }

    private static int? Count(JsonObject s, string key, string path, int bound)
    {
        if (s[key] is not { } node)
        {
            return null;
        }

        if (node.GetValueKind() != JsonValueKind.Number || !node.GetValue<JsonElement>().TryGetInt32(out var value) || value < 0)
        {
            throw new GrammarException($"{path}/{key}: must be a non-negative integer");
        }

        return value <= bound ? value : throw new GrammarException($"{path}/{key}: values above {bound} are not supported");
    }

    private Symbol[] StringValue(JsonObject s, string path)
    {
        var quote = Symbol.Of(ByteSet.Of((byte)'"'));
        var min = Count(s, "minLength", path, MaxLengthBound);
        var max = Count(s, "maxLength", path, MaxLengthBound);
        var hasLength = min is not null || max is not null;
        if (s["format"] is { } format)
        {
            var name = format.GetValueKind() == JsonValueKind.String ? format.GetValue<string>() : "";
            if (!JsonFormats.Patterns.TryGetValue(name, out var pattern))
            {
                throw new GrammarException($"{path}/format: \"{name}\" is not supported (supported: {string.Join(", ", JsonFormats.Patterns.Keys)})");
            }

            if (hasLength || s.ContainsKey("pattern"))
            {
                throw new GrammarException($"{path}: format together with pattern, minLength or maxLength is not supported");
            }

            return [quote, .. RegexCompiler.Compile(_json.Chars, pattern, inJsonString: false, searchSemantics: false, path + "/format"), quote];
        }

        if (s["pattern"] is { } patternNode)
        {
            if (hasLength)
            {
                throw new GrammarException($"{path}: pattern together with minLength or maxLength is not supported; put the length into the pattern");
            }

            var pattern = patternNode.GetValueKind() == JsonValueKind.String ? patternNode.GetValue<string>() : throw new GrammarException($"{path}/pattern: must be a string");
            return [quote, .. RegexCompiler.Compile(_json.Chars, pattern, inJsonString: true, searchSemantics: true, path + "/pattern"), quote];
        }

        if ((min ?? 0) > (max ?? int.MaxValue))
        {
            throw new GrammarException($"{path}: minLength {min} is above maxLength {max}");
        }

        return _json.String(min ?? 0, max ?? -1);
    }

    private Symbol[] ArrayValue(JsonObject s, string path, int depth)
    {
        var prefix = s["prefixItems"] is { } p ? p as JsonArray ?? throw new GrammarException($"{path}/prefixItems: must be an array of schemas") : [];
        var min = Count(s, "minItems", path, MaxItemsBound) ?? 0;
        var max = Count(s, "maxItems", path, MaxItemsBound) ?? -1;
        var items = s["items"];
        if (items is JsonValue iv && iv.TryGetValue<bool>(out var allowed) && !allowed)
        {
            max = max < 0 ? prefix.Count : Math.Min(max, prefix.Count);
        }

        if (max >= 0 && min > max)
        {
            throw new GrammarException($"{path}: minItems {min} is above the most items allowed ({max})");
        }

        var ws = _json.Ws();
        var sep = (Symbol[])[.. ws, Symbol.Of(ByteSet.Of((byte)',')), .. ws];
        var itemValue = (Symbol[]?)null;
        Symbol[] Element(int i) => i < prefix.Count
            ? Value(prefix[i], $"{path}/prefixItems/{i}", depth)
            : itemValue ??= (items is null ? _json.AnyValue() : Value(items, path + "/items", depth));

        Symbol[] Tail(int i)
        {
            if (i == max)
            {
                return [];
            }

            if (i >= prefix.Count)
            {
                return _builder.Repeat("items", [.. sep, .. Element(i)], Math.Max(0, min - i), max < 0 ? -1 : max - i);
            }

            var segment = (Symbol[])[.. sep, .. Element(i), .. Tail(i + 1)];
            return i < min ? segment : _builder.Choice("item?", segment, []);
        }

        var open = Symbol.Of(ByteSet.Of((byte)'['));
        var close = Symbol.Of(ByteSet.Of((byte)']'));
        if (max == 0)
        {
            return [open, .. ws, close];
        }

        var body = (Symbol[])[.. Element(0), .. Tail(1)];
        return [open, .. ws, .. min == 0 ? _builder.Choice("items?", body, []) : body, .. ws, close];
    }

    private Symbol[] ObjectValue(JsonObject s, string path, int depth)
    {
        var properties = s["properties"] as JsonObject ?? (s.ContainsKey("properties") ? throw new GrammarException($"{path}/properties: must be an object") : []);
        var required = (s["required"] as JsonArray ?? []).Select(r => r?.GetValueKind() == JsonValueKind.String ? r.GetValue<string>() : throw new GrammarException($"{path}/required: must be an array of strings")).ToHashSet(StringComparer.Ordinal);
        var additional = s["additionalProperties"];
        var additionalAllowed = additional is not JsonValue av || !av.TryGetValue<bool>(out var a) || a;
        var declared = properties.Select(p => (Name: p.Key, Schema: p.Value, Path: $"{path}/properties/{p.Key}")).ToList();
        foreach (var name in required.Where(r => !properties.ContainsKey(r)))
        {
            if (!additionalAllowed)
            {
                throw new GrammarException($"{path}/required: \"{name}\" is required but additionalProperties is false and it is not in properties");
            }

            declared.Add((name, additional ?? JsonValue.Create(true), $"{path}/additionalProperties"));
        }

        var ws = _json.Ws();
        var sep = (Symbol[])[.. ws, Symbol.Of(ByteSet.Of((byte)',')), .. ws];
        var colon = (Symbol[])[.. ws, Symbol.Of(ByteSet.Of((byte)':')), .. ws];
        var open = Symbol.Of(ByteSet.Of((byte)'{'));
        var close = Symbol.Of(ByteSet.Of((byte)'}'));
        if (declared.Count == 0)
        {
            if (!additionalAllowed)
            {
                return [open, .. ws, close];
            }

            var value = additional is null ? _json.AnyValue() : Value(additional, path + "/additionalProperties", depth);
            var member = (Symbol[])[.. _json.String(0, -1), .. colon, .. value];
            var members = (Symbol[])[.. member, .. _builder.Repeat("members", [.. sep, .. member], 0, -1)];
            return [open, .. ws, .. _builder.Choice("members?", members, []), .. ws, close];
        }

        // Declared properties in schema order; optional ones may be left out. After(i) is what may
        // follow once some property before i was written (so every later one needs a comma).
        var kv = declared.Select(d => (Symbol[])[.. JsonPrimitives.QuotedLiteral(d.Name), .. colon, .. Value(d.Schema, d.Path, depth)]).ToList();
        var isRequired = declared.Select(d => required.Contains(d.Name)).ToList();
        var after = new Symbol[declared.Count + 1][];
        after[declared.Count] = [];
        for (var i = declared.Count - 1; i >= 0; i--)
        {
            var with = (Symbol[])[.. sep, .. kv[i], .. after[i + 1]];
            after[i] = isRequired[i] ? with : _builder.Choice("prop?", with, after[i + 1]);
            if (after[i].Length > 1)
            {
                after[i] = Wrap(after[i]); // shared by reference, so the grammar stays linear in the property count
            }
        }

        // The first property written is some i with every property before it optional.
        var firsts = new List<Symbol[]>();
        for (var i = 0; i < declared.Count; i++)
        {
            firsts.Add([.. kv[i], .. after[i + 1]]);
            if (isRequired[i])
            {
                break;
            }
        }

        if (!isRequired.Any(r => r))
        {
            firsts.Add([]);
        }

        return [open, .. ws, .. _builder.Choice("props", [.. firsts]), .. ws, close];
    }

    private Symbol[] Wrap(Symbol[] symbols)
    {
        var r = _builder.Declare("seq");
        _builder.Define(r, symbols);
        return [Symbol.OfRule(r)];
    }
}
