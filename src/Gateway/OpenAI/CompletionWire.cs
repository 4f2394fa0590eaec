using System.Text.Json;
using System.Text.Json.Serialization;

namespace Mesh.Gateway.OpenAI;

/// <summary>The body of the legacy <c>POST /v1/completions</c>: one text prompt continued.</summary>
public sealed class CompletionRequest
{
    public string? Model { get; set; }
    /// <summary>A string, or an array holding one string.</summary>
    public JsonElement Prompt { get; set; }
    public bool Stream { get; set; }
    public StreamOptionsWire? StreamOptions { get; set; }
    public JsonElement Stop { get; set; }
    public float? Temperature { get; set; }
    public float? TopP { get; set; }
    public long? Seed { get; set; }
    /// <summary>Default 16, as OpenAI's.</summary>
    public int? MaxTokens { get; set; }
    /// <summary>0-5 here: the number of alternatives per token (OpenAI's legacy shape).</summary>
    public int? Logprobs { get; set; }
    public int? N { get; set; }
    public float? PresencePenalty { get; set; }
    public float? FrequencyPenalty { get; set; }
    public string? User { get; set; }
    /// <summary>Structured output; see <see cref="ResponseFormatMapper"/>.</summary>
    public JsonElement ResponseFormat { get; set; }

    [JsonExtensionData]
    public Dictionary<string, JsonElement>? Extra { get; set; }
}

/// <summary>A completion answer or one streamed chunk of it (<c>object: "text_completion"</c> for both, as OpenAI sends).</summary>
public sealed record CompletionResponse(
    string Id, string Object, long Created, string Model, List<CompletionChoiceWire> Choices,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] UsageWire? Usage);

public sealed record CompletionChoiceWire(
    int Index, string Text, CompletionLogprobsWire? Logprobs,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] string? FinishReason);

/// <summary>The legacy logprobs shape: parallel arrays.</summary>
public sealed record CompletionLogprobsWire(
    List<string> Tokens, List<float> TokenLogprobs, List<Dictionary<string, float>> TopLogprobs, List<int> TextOffset);
