using System.Text.Json;
using System.Text.Json.Nodes;

namespace Mesh.Inference.StructuredOutput;

/// <summary>
/// Compiles a JSON Schema (draft 2020-12 keywords) into a byte grammar whose every complete sentence
/// is JSON that validates against the schema — the construction of llama.cpp's json-schema-to-grammar
/// and xgrammar, done here so that each keyword either constrains generation soundly or is refused.
/// Supported: type (and unions), properties, required, additionalProperties, enum, const, items,
/// prefixItems, minItems, maxItems, minLength, maxLength, pattern, format (date, time, date-time,
/// uuid, email), minimum, maximum, exclusiveMinimum, exclusiveMaximum (generated as integers),
/// anyOf, oneOf (when its branches cannot overlap), allOf (merged), $ref to "#…" with $defs /
/// definitions (recursion bounded by <see cref="JsonSchemaOptions.MaxRefDepth"/>); annotations are
/// ignored. Generation is complete for none of these in general (optional properties come in schema
/// order, extra properties only where no property is declared), but sound for all.
/// </summary>
internal sealed partial class JsonSchemaCompiler
{
    public const int MaxLengthBound = 4096;
    public const int MaxItemsBound = 1000;

    /// <summary>Deepest nesting of subschemas the compiler follows.</summary>
    public const int MaxNesting = 200;

    private static readonly HashSet<string> Annotations = new(StringComparer.Ordinal)
    {
        "title", "description", "$schema", "$id", "$comment", "examples", "default", "deprecated", "readOnly", "writeOnly", "$defs", "definitions",
    };

    private static readonly HashSet<string> Supported = new(StringComparer.Ordinal)
    {
        "type", "properties", "required", "additionalProperties", "enum", "const", "items", "prefixItems", "minItems", "maxItems",
        "minLength", "maxLength", "pattern", "format", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum",
        "anyOf", "oneOf", "allOf", "$ref",
    };

    private static readonly string[] AllTypes = ["null", "boolean", "object", "array", "number", "integer", "string"];

    private readonly JsonNode _root;
    private readonly JsonSchemaOptions _options;
    private readonly GrammarBuilder _builder = new();
    private readonly JsonPrimitives _json;
    private readonly Dictionary<(string Pointer, int Depth), int> _refRules = [];
    private int _nesting;

    private JsonSchemaCompiler(JsonNode root, JsonSchemaOptions options)
    {
        _root = root;
        _options = options;
        _json = new JsonPrimitives(new CharacterRules(_builder), options.MaxWhitespace);
    }

    /// <summary>The grammar of JSON text valid against <paramref name="schemaText"/>.</summary>
    /// <exception cref="GrammarException">The schema is not JSON, or uses a keyword or value that cannot be enforced (named in the message).</exception>
    public static Grammar Compile(string schemaText, JsonSchemaOptions options)
    {
        JsonNode? root;
        try
        {
            root = JsonNode.Parse(schemaText, documentOptions: new JsonDocumentOptions { MaxDepth = 64 });
        }
        catch (JsonException e)
        {
            throw new GrammarException($"the schema is not valid JSON: {e.Message}");
        }

        var compiler = new JsonSchemaCompiler(root ?? throw new GrammarException("the schema is JSON null; give an object or true"), options);
        var start = compiler._builder.Declare("root");
        compiler._builder.Define(start, compiler.Value(root, "#", 0));
        return compiler._builder.Build(start);
    }

    /// <summary>The grammar of any JSON object (<c>response_format</c> json_object).</summary>
    public static Grammar AnyObject(JsonSchemaOptions options)
    {
        var builder = new GrammarBuilder();
        var json = new JsonPrimitives(new CharacterRules(builder), options.MaxWhitespace);
        var start = builder.Declare("root");
        builder.Define(start, json.AnyObject());
        return builder.Build(start);
    }

    private Symbol[] Value(JsonNode? schema, string path, int depth)
    {
        if (depth > _options.MaxRefDepth)
        {
            return [Symbol.Of(ByteSet.Empty)]; // past the recursion bound: this alternative is dropped
        }

        // Compiling recurses once per subschema level ($refs included): bound it before the stack is.
        if (++_nesting > MaxNesting)
        {
            throw new GrammarException($"{path}: subschemas nest deeper than {MaxNesting} levels (counting $ref expansions); lower max_ref_depth or flatten the schema");
        }

        try
        {
            return CompileValue(schema, path, depth);
        }
        finally
        {
            _nesting--;
        }
    }

    private Symbol[] CompileValue(JsonNode? schema, string path, int depth)
    {
        if (schema is JsonValue v && v.TryGetValue<bool>(out var b))
        {
            return b ? _json.AnyValue() : [Symbol.Of(ByteSet.Empty)];
        }

        if (schema is not JsonObject s)
        {
            throw new GrammarException($"{path}: a schema must be an object or a boolean");
        }

        foreach (var (key, _) in s)
        {
            if (!Supported.Contains(key) && !Annotations.Contains(key))
            {
                throw new GrammarException($"{path}: keyword '{key}' is not supported by structured output" + (key == "nullable" ? " (write \"type\": [\"…\", \"null\"] instead)" : ""));
            }
        }

        var keywords = s.Where(p => !Annotations.Contains(p.Key)).Select(p => p.Key).ToList();
        if (s["$ref"] is { } reference)
        {
            if (keywords.Count > 1)
            {
                throw new GrammarException($"{path}: keywords beside $ref ({string.Join(", ", keywords.Where(k => k != "$ref"))}) are not supported; move them into the referenced schema or use allOf");
            }

            return Ref(reference, path, depth);
        }

        if (s["allOf"] is not null)
        {
            // Merging inlines the parts' $refs: one level of the recursion bound.
            return Value(MergeAllOf(s, path, depth), path + "/allOf", depth + 1);
        }

        foreach (var combinator in new[] { "anyOf", "oneOf" })
        {
            if (s[combinator] is not JsonArray branches)
            {
                continue;
            }

            if (branches.Count == 0)
            {
                throw new GrammarException($"{path}/{combinator}: needs at least one schema");
            }

            // Siblings apply to every branch: X and anyOf[A, B] is anyOf[X∧A, X∧B].
            var siblings = new JsonObject(s.Where(p => p.Key != combinator && !Annotations.Contains(p.Key)).Select(p => KeyValuePair.Create(p.Key, p.Value?.DeepClone())));
            // A branch merged with siblings has its $ref inlined: that counts as one level of recursion.
            var merged = branches.Select((branch, i) => siblings.Count == 0 ? branch : Merge([siblings, Resolve(branch, depth)], $"{path}/{combinator}/{i}")).ToList();
            if (combinator == "oneOf")
            {
                CheckDisjoint([.. merged.Select(m => Resolve(m, depth))], path);
            }

            return _builder.Choice(combinator, [.. merged.Select((m, i) => Value(m, $"{path}/{combinator}/{i}", siblings.Count == 0 ? depth : depth + 1))]);
        }

        if (s["enum"] is not null || s["const"] is not null)
        {
            return Literals(s, path);
        }

        var types = TypesOf(s, path);
        if (types.Count == AllTypes.Length && keywords.Count == 0)
        {
            return _json.AnyValue();
        }

        var alternatives = new List<Symbol[]>();
        foreach (var type in types.Where(t => t != "number" || !types.Contains("integer")))
        {
            alternatives.Add(type switch
            {
                "null" => JsonPrimitives.Null,
                "boolean" => _json.Boolean(),
                "integer" or "number" => Numeric(s, type, path),
                "string" => StringValue(s, path),
                "array" => ArrayValue(s, path, depth),
                _ => ObjectValue(s, path, depth),
            });
        }

        return _builder.Choice("type", [.. alternatives]);
    }

    private Symbol[] Ref(JsonNode reference, string path, int depth)
    {
        var pointer = reference is JsonValue rv && rv.TryGetValue<string>(out var text) ? text : throw new GrammarException($"{path}/$ref: must be a string");
        if (depth >= _options.MaxRefDepth)
        {
            return [Symbol.Of(ByteSet.Empty)]; // past the recursion bound: this alternative is dropped
        }

        if (_refRules.TryGetValue((pointer, depth), out var rule))
        {
            return [Symbol.OfRule(rule)];
        }

        var target = Lookup(pointer, path);
        rule = _builder.Declare(pointer);
        _refRules[(pointer, depth)] = rule;
        _builder.Define(rule, Value(target, pointer, depth + 1));
        return [Symbol.OfRule(rule)];
    }

    /// <summary>The node a local reference ("#" or "#/json/pointer") names.</summary>
    private JsonNode Lookup(string pointer, string path)
    {
        if (pointer != "#" && !pointer.StartsWith("#/", StringComparison.Ordinal))
        {
            throw new GrammarException($"{path}/$ref: only local references (\"#\" or \"#/$defs/name\") are supported, not \"{pointer}\"");
        }

        var node = _root;
        foreach (var raw in pointer.Length <= 2 ? [] : pointer[2..].Split('/'))
        {
            var segment = Uri.UnescapeDataString(raw).Replace("~1", "/", StringComparison.Ordinal).Replace("~0", "~", StringComparison.Ordinal);
            node = node switch
            {
                JsonObject o when o[segment] is { } child => child,
                JsonArray a when int.TryParse(segment, out var i) && i >= 0 && i < a.Count && a[i] is { } item => item,
                _ => throw new GrammarException($"{path}/$ref: \"{pointer}\" does not name a schema in this document"),
            };
        }

        return node;
    }

    /// <summary>A branch with its $ref chain followed (for merging and overlap analysis).</summary>
    private JsonNode Resolve(JsonNode? node, int depth)
    {
        for (var hops = 0; node is JsonObject o && o["$ref"] is { } r && o.Count(p => !Annotations.Contains(p.Key)) == 1; hops++)
        {
            if (hops > _options.MaxRefDepth + 8)
            {
                throw new GrammarException($"$ref chain starting at {r} never reaches a schema");
            }

            node = Lookup(r.GetValue<string>(), "$ref");
        }

        return node ?? throw new GrammarException("a schema is JSON null");
    }

    private List<string> TypesOf(JsonObject s, string path)
    {
        if (s["type"] is { } type)
        {
            var names = type is JsonArray a ? a.Select(t => t?.GetValueKind() == JsonValueKind.String ? t.GetValue<string>() : "").ToList() : [type.GetValueKind() == JsonValueKind.String ? type.GetValue<string>() : ""];
            foreach (var n in names)
            {
                if (!AllTypes.Contains(n))
                {
                    throw new GrammarException($"{path}/type: \"{n}\" is not a JSON Schema type ({string.Join(", ", AllTypes)})");
                }
            }

            return names.Count == 0 ? throw new GrammarException($"{path}/type: the list is empty") : names.Distinct().ToList();
        }

        // No type: infer the types the keywords constrain (a subset of what the schema allows).
        var inferred = new List<string>();
        if (s.ContainsKey("properties") || s.ContainsKey("required") || s.ContainsKey("additionalProperties"))
        {
            inferred.Add("object");
        }

        if (s.ContainsKey("items") || s.ContainsKey("prefixItems") || s.ContainsKey("minItems") || s.ContainsKey("maxItems"))
        {
            inferred.Add("array");
        }

        if (s.ContainsKey("minLength") || s.ContainsKey("maxLength") || s.ContainsKey("pattern") || s.ContainsKey("format"))
        {
            inferred.Add("string");
        }

        if (s.ContainsKey("minimum") || s.ContainsKey("maximum") || s.ContainsKey("exclusiveMinimum") || s.ContainsKey("exclusiveMaximum"))
        {
            inferred.Add("integer");
        }

        return inferred.Count > 0 ? inferred : [.. AllTypes];
    }

    private Symbol[] Literals(JsonObject s, string path)
    {
        var others = s.Where(p => !Annotations.Contains(p.Key) && p.Key is not ("enum" or "const" or "type")).Select(p => p.Key).ToList();
        if (others.Count > 0)
        {
            throw new GrammarException($"{path}: enum/const together with {string.Join(", ", others)} is not supported; list only values that satisfy them");
        }

        var values = s["const"] is { } c ? [c] : (s["enum"] as JsonArray ?? throw new GrammarException($"{path}/enum: must be an array")).ToList();
        var types = s.ContainsKey("type") ? TypesOf(s, path) : null;
        var literals = values
            .Where(v => types is null || types.Any(t => IsOfType(v, t)))
            .Select(v => GrammarBuilder.Literal(v?.ToJsonString() ?? "null"))
            .ToArray();
        return literals.Length == 0
            ? throw new GrammarException($"{path}: no enum/const value has the schema's type; nothing can be generated")
            : _builder.Choice("enum", literals);
    }

    private static bool IsOfType(JsonNode? v, string type) => (type, v?.GetValueKind() ?? JsonValueKind.Null) switch
    {
        ("null", JsonValueKind.Null) => true,
        ("boolean", JsonValueKind.True or JsonValueKind.False) => true,
        ("object", JsonValueKind.Object) => true,
        ("array", JsonValueKind.Array) => true,
        ("string", JsonValueKind.String) => true,
        ("number", JsonValueKind.Number) => true,
        ("integer", JsonValueKind.Number) => v!.GetValue<JsonElement>().TryGetDecimal(out var d) && d == decimal.Truncate(d),
        _ => false,
    };
}
