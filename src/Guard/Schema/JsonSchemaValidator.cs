using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.RegularExpressions;
using Json.Schema;
using Microsoft.Extensions.Options;

namespace Mesh.Guard.Schema;

/// <summary>
/// JSON Schema (draft 2020-12 by default) through JsonSchema.Net. Every schema is first checked by
/// <see cref="SchemaSafety"/> (no remote references, no endless reference cycles, bounded nesting)
/// and its expressions run by <see cref="LinearPatterns"/>, so no schema or document can end the process, hold a
/// thread, or surface as an unmapped library exception. Schemas sent with requests are compiled
/// once and cached by their text, since callers send the same few schemas again and again; the
/// cache holds at most <see cref="GuardOptions.SchemaCacheSize"/> schemas of at most
/// <see cref="GuardOptions.MaxSchemaChars"/> characters each.
/// </summary>
public sealed class JsonSchemaValidator(IOptions<GuardOptions> options)
{
    private readonly ConcurrentDictionary<string, CompiledSchema> _cache = new(StringComparer.Ordinal);
    private readonly int _cacheSize = Math.Max(1, options.Value.SchemaCacheSize);
    private readonly int _maxSchemaChars = options.Value.MaxSchemaChars;

    /// <summary>Compiles a schema given as text, or throws <see cref="InvalidSchemaException"/> saying why.</summary>
    public CompiledSchema Compile(string schemaText)
    {
        if (schemaText.Length > _maxSchemaChars)
        {
            throw new InvalidSchemaException($"The schema is {schemaText.Length} characters long; the limit is {_maxSchemaChars} (Guard:MaxSchemaChars).");
        }
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
    public static CompiledSchema Parse(string schemaText)
    {
        try
        {
            using var doc = JsonDocument.Parse(schemaText, new JsonDocumentOptions { MaxDepth = SchemaSafety.InstanceDepthLimit });
            var maxInstanceDepth = SchemaSafety.Check(doc.RootElement);
            // A fresh registry per schema: two schemas with the same $id must not collide.
            var schema = JsonSchema.Build(doc.RootElement.Clone(), new BuildOptions { SchemaRegistry = new SchemaRegistry() });
            LinearPatterns.Apply(schema);
            return new CompiledSchema(schema, maxInstanceDepth);
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

    /// <summary>
    /// Every failing keyword of <paramref name="json"/> against <paramref name="schema"/>; empty when
    /// valid. A document that is not JSON, or nests deeper than the schema can safely check, is one
    /// error. Throws <see cref="InvalidSchemaException"/> when the schema cannot be applied.
    /// </summary>
    public static IReadOnlyList<SchemaError> Validate(CompiledSchema schema, string json)
    {
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = schema.MaxInstanceDepth });
        }
        catch (JsonException e)
        {
            return [new SchemaError("", "", "json", $"Not valid JSON: {e.Message}")];
        }
        using (doc)
        {
            EvaluationResults results;
            try
            {
                results = schema.Schema.Evaluate(doc.RootElement, new EvaluationOptions { OutputFormat = OutputFormat.List });
            }
            catch (Exception e) when (e is JsonSchemaException or RegexMatchTimeoutException or InvalidOperationException or ArgumentException)
            {
                throw new InvalidSchemaException($"The schema cannot be applied: {e.Message}", e);
            }
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

/// <summary>
/// A built schema and the deepest document it may validate without exhausting the stack
/// (see <see cref="SchemaSafety"/>).
/// </summary>
public sealed record CompiledSchema(JsonSchema Schema, int MaxInstanceDepth);

/// <summary>A schema that does not parse, is not a valid JSON Schema, or cannot be applied; the message says what to change.</summary>
public sealed class InvalidSchemaException(string message, Exception? inner = null) : Exception(message, inner);
