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
    /// <summary>The model id, as <c>GET /v1/models</c> lists it. Required.</summary>
    public string? Model { get; set; }
    /// <summary>The conversation, oldest first. Required.</summary>
    public List<ChatMessageWire>? Messages { get; set; }
    /// <summary>Stream the answer as server-sent events.</summary>
    public bool Stream { get; set; }
    /// <summary>Streaming options (<c>include_usage</c>).</summary>
    public StreamOptionsWire? StreamOptions { get; set; }
    /// <summary>A string or an array of up to 8 strings.</summary>
    public JsonElement Stop { get; set; }
    /// <summary>Sampling temperature in [0, 2]; 0 is greedy.</summary>
    public float? Temperature { get; set; }
    /// <summary>Nucleus sampling threshold in (0, 1].</summary>
    public float? TopP { get; set; }
    /// <summary>Seed of the random draws: the same seed gives the same tokens.</summary>
    public long? Seed { get; set; }
    /// <summary>Most tokens to generate (legacy name of <see cref="MaxCompletionTokens"/>).</summary>
    public int? MaxTokens { get; set; }
    /// <summary>Most tokens to generate; default 256.</summary>
    public int? MaxCompletionTokens { get; set; }
    /// <summary>Return each token's log-probability.</summary>
    public bool? Logprobs { get; set; }
    /// <summary>Alternatives per token with their log-probabilities, 0 to 20 (needs <c>logprobs</c>).</summary>
    public int? TopLogprobs { get; set; }
    /// <summary>Number of choices, 1 to 16.</summary>
    public int? N { get; set; }
    /// <summary>Presence penalty in [-2, 2].</summary>
    public float? PresencePenalty { get; set; }
    /// <summary>Frequency penalty in [-2, 2].</summary>
    public float? FrequencyPenalty { get; set; }
    /// <summary>The end user's id: accepted, stored nowhere.</summary>
    public string? User { get; set; }
    /// <summary>Structured output; see <see cref="ResponseFormatMapper"/>.</summary>
    public JsonElement ResponseFormat { get; set; }
    /// <summary>Mesh's extension: the assistant pipeline (<see cref="MeshExtensionWire"/>).</summary>
    public MeshExtensionWire? Mesh { get; set; }

    /// <summary>Every other member of the body (refused by name when it would change the answer).</summary>
    [JsonExtensionData]
    public Dictionary<string, JsonElement>? Extra { get; set; }
}

/// <summary>One message: <c>content</c> is a string or an array of <c>{"type":"text","text":...}</c> parts.</summary>
public sealed class ChatMessageWire
{
    /// <summary><c>system</c>, <c>developer</c>, <c>user</c> or <c>assistant</c>.</summary>
    public string? Role { get; set; }
    /// <summary>A string or an array of text parts.</summary>
    public JsonElement Content { get; set; }
    /// <summary>The participant's name: accepted, not used.</summary>
    public string? Name { get; set; }
}

/// <summary><c>stream_options</c> of a streamed request.</summary>
public sealed class StreamOptionsWire
{
    /// <summary>Send a last chunk with the request's usage and no choices.</summary>
    public bool IncludeUsage { get; set; }
}

/// <summary>The non-streamed answer (<c>object: "chat.completion"</c>).</summary>
public sealed record ChatCompletionResponse(
    string Id, string Object, long Created, string Model, List<ChatChoiceWire> Choices, UsageWire Usage,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] MeshResultWire? Mesh = null);

/// <summary>One choice of a non-streamed answer.</summary>
public sealed record ChatChoiceWire(int Index, AssistantMessageWire Message, LogprobsWire? Logprobs, string? FinishReason);

/// <summary>The assistant's message of a choice.</summary>
public sealed record AssistantMessageWire(string Role, string Content);

/// <summary>One server-sent event of a streamed answer (<c>object: "chat.completion.chunk"</c>).</summary>
public sealed record ChatCompletionChunk(
    string Id, string Object, long Created, string Model, List<ChatChunkChoiceWire> Choices,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] UsageWire? Usage,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] MeshResultWire? Mesh = null);

/// <summary>One choice's part of a streamed chunk.</summary>
public sealed record ChatChunkChoiceWire(
    int Index, DeltaWire Delta, LogprobsWire? Logprobs,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] string? FinishReason);

/// <summary>What a chunk adds: the role (first chunk only) and text.</summary>
public sealed record DeltaWire(string? Role, string? Content);

/// <summary>Per-token log-probabilities of a chat choice.</summary>
public sealed record LogprobsWire(List<TokenLogprobWire> Content);

/// <summary>One token with its log-probability, its UTF-8 bytes and the most likely alternatives.</summary>
public sealed record TokenLogprobWire(string Token, float Logprob, int[]? Bytes, List<TopLogprobWire> TopLogprobs);

/// <summary>One alternative token.</summary>
public sealed record TopLogprobWire(string Token, float Logprob, int[]? Bytes);

/// <summary>Token counts of a request.</summary>
public sealed record UsageWire(int PromptTokens, int CompletionTokens, int TotalTokens);
