using System.Text.Json;
using Mesh.Inference.V1;

namespace Mesh.Gateway.OpenAI;

/// <summary>
/// OpenAI's <c>response_format</c> as Inference's structured output: <c>{"type":"text"}</c> is free
/// text, <c>{"type":"json_object"}</c> any JSON object, <c>{"type":"json_schema","json_schema":{"schema":{...}}}</c>
/// JSON matching the schema (Inference refuses the keywords it does not support, naming them; OpenAI's
/// <c>name</c> and <c>strict</c> are accepted: the output always matches).
/// </summary>
public static class ResponseFormatMapper
{
    /// <summary>Inference's response format for OpenAI's <c>response_format</c>; null for none or <c>text</c>.</summary>
    public static ResponseFormat? Map(JsonElement format)
    {
        if (format.ValueKind is JsonValueKind.Undefined or JsonValueKind.Null)
        {
            return null;
        }

        var type = format.ValueKind == JsonValueKind.Object && format.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String
            ? t.GetString()
            : throw new OpenAIRequestException("response_format", "'response_format' must be an object with a 'type'.");
        switch (type)
        {
            case "text":
                return null;
            case "json_object":
                return new ResponseFormat { JsonObject = new JsonObjectFormat() };
            case "json_schema":
                if (!format.TryGetProperty("json_schema", out var wrapper) || wrapper.ValueKind != JsonValueKind.Object
                    || !wrapper.TryGetProperty("schema", out var schema) || schema.ValueKind is not (JsonValueKind.Object or JsonValueKind.True or JsonValueKind.False))
                {
                    throw new OpenAIRequestException("response_format.json_schema.schema", "'response_format.json_schema.schema' must be a JSON Schema object.");
                }

                return new ResponseFormat { JsonSchema = new JsonSchemaFormat { Schema = schema.GetRawText() } };
            default:
                throw new OpenAIRequestException("response_format.type", $"'response_format.type' must be text, json_object or json_schema, not '{type}'.");
        }
    }
}
