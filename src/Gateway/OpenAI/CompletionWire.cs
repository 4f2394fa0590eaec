using System.Text.Json;
using System.Text.Json.Serialization;

namespace Mesh.Gateway.OpenAI;

/// <summary>The body of the legacy <c>POST /v1/completions</c>: one text prompt continued.</summary>
public sealed class CompletionRequest
{
    /// <summary>The model id. Required.</summary>
    public string? Model { get; set; }
    /// <summary>A string, or an array holding one string.</summary>
    public JsonElement Prompt { get; set; }
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
    /// <summary>Seed of the random draws.</summary>
    public long? Seed { get; set; }
    /// <summary>Default 16, as OpenAI's.</summary>
    public int? MaxTokens { get; set; }
    /// <summary>0-5 here: the number of alternatives per token (OpenAI's legacy shape).</summary>
    public int? Logprobs { get; set; }
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

    /// <summary>Every other member of the body (refused by name when it would change the answer).</summary>
    [JsonExtensionData]
    public Dictionary<string, JsonElement>? Extra { get; set; }
}

/// <summary>A completion answer or one streamed chunk of it (<c>object: "text_completion"</c> for both, as OpenAI sends).</summary>
public sealed record CompletionResponse(
    string Id, string Object, long Created, string Model, List<CompletionChoiceWire> Choices,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] UsageWire? Usage);

/// <summary>One choice: its text, legacy log-probabilities and finish reason.</summary>
public sealed record CompletionChoiceWire(
    int Index, string Text, CompletionLogprobsWire? Logprobs,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] string? FinishReason);

/// <summary>The legacy logprobs shape: parallel arrays.</summary>
public sealed record CompletionLogprobsWire(
    List<string> Tokens, List<float> TokenLogprobs, List<Dictionary<string, float>> TopLogprobs, List<int> TextOffset);
