using Mesh.Inference.Models;
using Mesh.Inference.StructuredOutput;
using Mesh.Inference.V1;
using static Mesh.Inference.Services.GenerateRequestValidator;

namespace Mesh.Inference.Services;

/// <summary>
/// Checks a request's <c>response_format</c> and compiles it for the model's vocabulary (through one
/// bounded cache shared by all models), or rejects it with INVALID_ARGUMENT naming the field.
/// </summary>
internal static class ResponseFormatValidator
{
    /// <summary>Longest JSON Schema or GBNF grammar accepted, in characters.</summary>
    public const int MaxSchemaLength = 65536;
    /// <summary>Longest regex accepted, in characters.</summary>
    public const int MaxRegexLength = 4096;
    /// <summary>Most strings a <c>choice</c> format may list.</summary>
    public const int MaxChoices = 256;
    /// <summary>Longest string of a <c>choice</c> format, in characters.</summary>
    public const int MaxChoiceLength = 1024;

    /// <summary>Compiled formats, most recently used kept.</summary>
    public static ResponseFormatCache Cache { get; } = new(32);

    /// <summary>The compiled <paramref name="format"/> for the model's vocabulary, or null when no format is set.</summary>
    public static CompiledFormat? Validate(V1.ResponseFormat? format, LlamaModel model)
    {
        if (format is null || format.FormatCase == V1.ResponseFormat.FormatOneofCase.None)
        {
            return null;
        }

        var spec = format.FormatCase switch
        {
            V1.ResponseFormat.FormatOneofCase.JsonSchema => JsonSchema(format.JsonSchema),
            V1.ResponseFormat.FormatOneofCase.JsonObject => new StructuredOutput.ResponseFormat(ResponseFormatKind.JsonObject, "", [], Options(format.JsonObject.HasMaxWhitespace ? format.JsonObject.MaxWhitespace : null, null, "json_object")),
            V1.ResponseFormat.FormatOneofCase.Regex => Text(ResponseFormatKind.Regex, format.Regex, MaxRegexLength, "regex"),
            V1.ResponseFormat.FormatOneofCase.Grammar => Text(ResponseFormatKind.Grammar, format.Grammar, MaxSchemaLength, "grammar"),
            _ => Choice(format.Choice),
        };
        var field = "response_format." + format.FormatCase switch
        {
            V1.ResponseFormat.FormatOneofCase.JsonSchema => "json_schema.schema",
            V1.ResponseFormat.FormatOneofCase.JsonObject => "json_object",
            V1.ResponseFormat.FormatOneofCase.Regex => "regex",
            V1.ResponseFormat.FormatOneofCase.Grammar => "grammar",
            _ => "choice",
        };
        CompiledFormat compiled;
        try
        {
            compiled = Cache.Get(spec, TokenVocabulary.For(model.Tokenizer));
        }
        catch (GrammarException e)
        {
            Require(false, $"{field}: {e.Message}");
            throw; // unreachable: Require threw
        }

        // Refused up front when the vocabulary cannot even begin the format (a later dead end fails the stream).
        var initial = compiled.Matcher.Initial;
        if (!initial.Accepting && compiled.MaskOf(initial, atStart: false).All(w => w == 0) && compiled.MaskOf(initial, atStart: true).All(w => w == 0))
        {
            throw new UnsatisfiableFormatException($"{field}: no token of model '{model.Id}' can begin this format; its vocabulary cannot spell the first character");
        }

        return compiled;
    }

    private static StructuredOutput.ResponseFormat JsonSchema(JsonSchemaFormat f)
    {
        Require(f.Schema.Length > 0, "response_format.json_schema.schema is empty: give a JSON Schema");
        Require(f.Schema.Length <= MaxSchemaLength, $"response_format.json_schema.schema is {f.Schema.Length} characters; at most {MaxSchemaLength} are allowed");
        return new(ResponseFormatKind.JsonSchema, f.Schema, [], Options(f.HasMaxWhitespace ? f.MaxWhitespace : null, f.HasMaxRefDepth ? f.MaxRefDepth : null, "json_schema"));
    }

    private static JsonSchemaOptions Options(int? maxWhitespace, int? maxRefDepth, string field)
    {
        Require(maxWhitespace is null or (>= 0 and <= 16), $"response_format.{field}.max_whitespace must be 0 to 16 (got {maxWhitespace})");
        Require(maxRefDepth is null or (>= 1 and <= 16), $"response_format.{field}.max_ref_depth must be 1 to 16 (got {maxRefDepth})");
        var defaults = new JsonSchemaOptions();
        return new JsonSchemaOptions { MaxWhitespace = maxWhitespace ?? defaults.MaxWhitespace, MaxRefDepth = maxRefDepth ?? defaults.MaxRefDepth };
    }

    private static StructuredOutput.ResponseFormat Text(ResponseFormatKind kind, string text, int max, string field)
    {
        Require(text.Length > 0, $"response_format.{field} is empty");
        Require(text.Length <= max, $"response_format.{field} is {text.Length} characters; at most {max} are allowed");
        return new(kind, text, [], new JsonSchemaOptions());
    }

    private static StructuredOutput.ResponseFormat Choice(ChoiceFormat f)
    {
        Require(f.Choices.Count is > 0 and <= MaxChoices, $"response_format.choice.choices needs 1 to {MaxChoices} strings (got {f.Choices.Count})");
        for (var i = 0; i < f.Choices.Count; i++)
        {
            Require(f.Choices[i].Length is > 0 and <= MaxChoiceLength, $"response_format.choice.choices[{i}] must be 1 to {MaxChoiceLength} characters");
        }

        return new(ResponseFormatKind.Choice, "", [.. f.Choices], new JsonSchemaOptions());
    }
}
