using System.Text.Json.Serialization;

namespace Mesh.Gateway.OpenAI;

/// <summary>
/// Source-generated (de)serialisation of the OpenAI wire types: snake_case names, nulls written as
/// OpenAI writes them (<c>"logprobs": null</c>), no reflection at run time.
/// </summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    NumberHandling = JsonNumberHandling.Strict)]
[JsonSerializable(typeof(ChatCompletionRequest))]
[JsonSerializable(typeof(ChatCompletionResponse))]
[JsonSerializable(typeof(ChatCompletionChunk))]
[JsonSerializable(typeof(CompletionRequest))]
[JsonSerializable(typeof(CompletionResponse))]
[JsonSerializable(typeof(ModelListWire))]
[JsonSerializable(typeof(OpenAIErrorBody))]
public sealed partial class OpenAIJsonContext : JsonSerializerContext;
