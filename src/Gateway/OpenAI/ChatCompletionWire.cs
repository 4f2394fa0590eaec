using System.Text.Json;
using System.Text.Json.Serialization;

namespace Mesh.Gateway.OpenAI;

/// <summary>
/// The body of <c>POST /v1/chat/completions</c>, as OpenAI's API reference defines it. Only the fields
/// Mesh serves are bound; <see cref="Extra"/> collects the rest so that parameters that would change
/// the answer and that Mesh cannot honour are refused by name instead of silently ignored.
/// </summary>
public sealed class ChatCompletionRequest
{
    public string? Model { get; set; }
    public List<ChatMessageWire>? Messages { get; set; }
    public bool Stream { get; set; }
    public StreamOptionsWire? StreamOptions { get; set; }
    /// <summary>A string or an array of up to 8 strings.</summary>
    public JsonElement Stop { get; set; }
    public float? Temperature { get; set; }
    public float? TopP { get; set; }
    public long? Seed { get; set; }
    public int? MaxTokens { get; set; }
    public int? MaxCompletionTokens { get; set; }
    public bool? Logprobs { get; set; }
    public int? TopLogprobs { get; set; }
    public int? N { get; set; }
    public float? PresencePenalty { get; set; }
    public float? FrequencyPenalty { get; set; }
    public string? User { get; set; }
    /// <summary>Structured output; see <see cref="ResponseFormatMapper"/>.</summary>
    public JsonElement ResponseFormat { get; set; }
    /// <summary>Mesh's extension: the assistant pipeline (<see cref="MeshExtensionWire"/>).</summary>
    public MeshExtensionWire? Mesh { get; set; }

    [JsonExtensionData]
    public Dictionary<string, JsonElement>? Extra { get; set; }
}

/// <summary>One message: <c>content</c> is a string or an array of <c>{"type":"text","text":...}</c> parts.</summary>
public sealed class ChatMessageWire
{
    public string? Role { get; set; }
    public JsonElement Content { get; set; }
    public string? Name { get; set; }
}

public sealed class StreamOptionsWire
{
    public bool IncludeUsage { get; set; }
}

/// <summary>The non-streamed answer (<c>object: "chat.completion"</c>).</summary>
public sealed record ChatCompletionResponse(
    string Id, string Object, long Created, string Model, List<ChatChoiceWire> Choices, UsageWire Usage,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] MeshResultWire? Mesh = null);

public sealed record ChatChoiceWire(int Index, AssistantMessageWire Message, LogprobsWire? Logprobs, string? FinishReason);

public sealed record AssistantMessageWire(string Role, string Content);

/// <summary>One server-sent event of a streamed answer (<c>object: "chat.completion.chunk"</c>).</summary>
public sealed record ChatCompletionChunk(
    string Id, string Object, long Created, string Model, List<ChatChunkChoiceWire> Choices,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] UsageWire? Usage,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] MeshResultWire? Mesh = null);

public sealed record ChatChunkChoiceWire(
    int Index, DeltaWire Delta, LogprobsWire? Logprobs,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] string? FinishReason);

public sealed record DeltaWire(string? Role, string? Content);

/// <summary>Per-token log-probabilities of a chat choice.</summary>
public sealed record LogprobsWire(List<TokenLogprobWire> Content);

public sealed record TokenLogprobWire(string Token, float Logprob, int[]? Bytes, List<TopLogprobWire> TopLogprobs);

public sealed record TopLogprobWire(string Token, float Logprob, int[]? Bytes);

public sealed record UsageWire(int PromptTokens, int CompletionTokens, int TotalTokens);
