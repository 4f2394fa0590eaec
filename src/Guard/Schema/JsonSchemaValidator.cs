using System.Collections.Concurrent;
using System.Text.Json;
using Json.Schema;
using Microsoft.Extensions.Options;

namespace Mesh.Guard.Schema;

/// <summary>
/// JSON Schema (draft 2020-12 by default) through JsonSchema.Net. Schemas sent with requests are
/// compiled once and cached by their text, since callers send the same few schemas again and again.
/// </summary>
public sealed class JsonSchemaValidator(IOptions<GuardOptions> options)
{
    private static readonly JsonDocumentOptions DocumentOptions = new() { MaxDepth = 128, CommentHandling = JsonCommentHandling.Disallow };
    private readonly ConcurrentDictionary<string, JsonSchema> _cache = new(StringComparer.Ordinal);
    private readonly int _cacheSize = Math.Max(1, options.Value.SchemaCacheSize);

    /// <summary>Compiles a schema given as text, or throws <see cref="InvalidSchemaException"/> saying why.</summary>
    public JsonSchema Compile(string schemaText)
    {
        if (_cache.TryGetValue(schemaText, out var cached))
        {
            return cached;
        }
        var schema = Parse(schemaText);
        if (_cache.Count >= _cacheSize)
        {
            _cache.Clear();
        }
        _cache.TryAdd(schemaText, schema);
        return schema;
    }

    /// <summary>Compiles a schema without caching it (policy files: compiled once per load).</summary>
    public static JsonSchema Parse(string schemaText)
    {
        try
        {
            using var doc = JsonDocument.Parse(schemaText, DocumentOptions);
            // A fresh registry per schema: two schemas with the same $id must not collide.
            return JsonSchema.Build(doc.RootElement.Clone(), new BuildOptions { SchemaRegistry = new SchemaRegistry() });
        }
        catch (JsonException e)
        {
            throw new InvalidSchemaException($"The schema is not valid JSON: {e.Message}", e);
        }
        catch (Exception e) when (e is not InvalidSchemaException and not OutOfMemoryException)
        {
            throw new InvalidSchemaException($"The schema is not a valid JSON Schema: {e.Message}", e);
        }
    }

    private static string LastKeyword(string evaluationPath)
    {
        var segments = evaluationPath.Split('/', StringSplitOptions.RemoveEmptyEntries);
        return segments.Length == 0 ? "false" : segments[^1];
    }

    /// <summary>Every failing keyword of <paramref name="json"/> against <paramref name="schema"/>; empty when valid.</summary>
    public static IReadOnlyList<SchemaError> Validate(JsonSchema schema, string json)
    {
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(json, DocumentOptions);
        }
        catch (JsonException e)
        {
            return [new SchemaError("", "", "json", $"Not valid JSON: {e.Message}")];
        }
        using (doc)
        {
            var results = schema.Evaluate(doc.RootElement, new EvaluationOptions { OutputFormat = OutputFormat.List });
            if (results.IsValid)
            {
                return [];
            }
            var errors = new List<SchemaError>();
            foreach (var node in (results.Details ?? []).Prepend(results))
            {
                if (node.Errors is null)
                {
                    continue;
                }
                foreach (var (key, message) in node.Errors)
                {
                    var at = node.EvaluationPath.ToString();
                    // A `false` subschema fails without a keyword of its own: name the keyword that
                    // applied it (e.g. additionalProperties) from the evaluation path.
                    var keyword = key.Length > 0 ? key : LastKeyword(at);
                    var location = key.Length == 0 || at.EndsWith("/" + key, StringComparison.Ordinal) ? at : at + "/" + key;
                    errors.Add(new SchemaError(node.InstanceLocation.ToString(), location, keyword, message));
                }
            }
            return errors;
        }
    }
}

/// <summary>A schema that does not parse or is not a valid JSON Schema.</summary>
public sealed class InvalidSchemaException(string message, Exception? inner = null) : Exception(message, inner);
