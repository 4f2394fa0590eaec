using System.Text.Json;
using System.Text.Json.Serialization;

namespace Mesh.Gateway.OpenAI;

/// <summary>
/// Mesh's extension of a chat completion request (an <c>extra_body</c> field for the OpenAI SDKs):
/// <c>"mesh": {"assistant": {...}}</c> answers with the assistant pipeline instead of plain chat.
/// </summary>
public sealed class MeshExtensionWire
{
    /// <summary>Ask the assistant (guards, retrieval, cited answer); see <see cref="MeshAssistantWire"/>.</summary>
    public MeshAssistantWire? Assistant { get; set; }

    /// <summary>Any other member: refused by name (a misspelt option must not be silently ignored).</summary>
    [JsonExtensionData]
    public Dictionary<string, JsonElement>? Extra { get; set; }
}

/// <summary>
/// The retrieval and guard settings of an assistant request, as <c>mesh.assistant.v1.AskRequest</c>
/// names them. <c>filter</c> is Retrieval's <c>Filter</c> message in proto3's JSON mapping, e.g.
/// <c>{"must":[{"field":{"key":"category","match":{"keyword":"footwear"}}}]}</c>.
/// </summary>
public sealed class MeshAssistantWire
{
    /// <summary>The collection to retrieve sources from; empty: answer without sources.</summary>
    public string? Collection { get; set; }

    /// <summary>Retrieval's <c>Filter</c> in proto3 JSON; null: no filter.</summary>
    public JsonElement Filter { get; set; }

    /// <summary>Sources to retrieve, 1 to 32; null: 4.</summary>
    public int? TopK { get; set; }

    /// <summary>Sources scoring below this are dropped; null: none dropped.</summary>
    public float? MinScore { get; set; }

    /// <summary>The Guard policy for the question and the answer; null: the gateway's default.</summary>
    public string? Policy { get; set; }

    /// <summary>Any other member: refused by name.</summary>
    [JsonExtensionData]
    public Dictionary<string, JsonElement>? Extra { get; set; }
}

/// <summary>
/// The assistant's own events on an answer, in proto3's JSON mapping with the proto field names
/// (as <c>mesh.assistant.v1.AskResponse</c> carries them over gRPC): <c>context</c> (the sources,
/// the question as the model saw it, its redactions), <c>done</c> (citations, output redactions,
/// schema errors, usage, per-stage timings) or <c>blocked</c> (stage, violations, message).
/// </summary>
public sealed record MeshResultWire(
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] JsonElement? Context,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] JsonElement? Done,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] JsonElement? Blocked);
