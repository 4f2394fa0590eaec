using System.Text.Json;
using Google.Protobuf;
using Mesh.Assistant.V1;
using Mesh.Retrieval.V1;

namespace Mesh.Gateway.OpenAI;

/// <summary>
/// Turns a chat completion request carrying <c>"mesh": {"assistant": {...}}</c> into the
/// <see cref="AskRequest"/> of <c>mesh.assistant.v1.AssistantService/Ask</c>, or refuses it naming the
/// field. The OpenAI parameters the assistant honours map to their Ask fields (<c>max_tokens</c>,
/// sampling, <c>response_format</c> as <c>response_schema_json</c>); those it cannot (<c>n</c> &gt; 1,
/// <c>logprobs</c>, <c>stop</c>) are 400s, not silently dropped.
/// </summary>
public static class AssistantRequestMapper
{
    /// <summary>The schema <c>json_object</c> stands for.</summary>
    public const string AnyObjectSchema = """{"type":"object"}""";

    /// <summary>The Ask request for <paramref name="request"/>; an <see cref="OpenAIRequestException"/> naming the field when it cannot be honoured.</summary>
    public static AskRequest Map(ChatCompletionRequest request, MeshAssistantWire assistant)
    {
        SamplingMapper.RefuseUnsupported(request.Extra);
        RefuseUnknown(request.Mesh?.Extra, "mesh");
        RefuseUnknown(assistant.Extra, "mesh.assistant");
        var model = SamplingMapper.RequireModel(request.Model);
        if (request.Messages is not { Count: > 0 } messages)
        {
            throw new OpenAIRequestException("messages", "'messages' is required and must hold at least one message.");
        }

        if (SamplingMapper.Choices(request.N) != 1)
        {
            throw new OpenAIRequestException("n", "'n' must be 1 with 'mesh.assistant': the assistant gives one answer.");
        }

        if (request.Logprobs == true || request.TopLogprobs is > 0)
        {
            throw new OpenAIRequestException("logprobs", "'logprobs' is not available with 'mesh.assistant' (the output guard may rewrite the text).");
        }

        if (SamplingMapper.Stop(request.Stop).Count > 0)
        {
            throw new OpenAIRequestException("stop", "'stop' is not available with 'mesh.assistant'; remove it.");
        }

        var ask = new AskRequest
        {
            Model = model,
            Collection = assistant.Collection ?? "",
            TopK = assistant.TopK ?? 0,
            MinScore = assistant.MinScore ?? 0,
            Policy = assistant.Policy ?? "",
            MaxTokens = request.MaxCompletionTokens is not null
                ? SamplingMapper.MaxTokens(request.MaxCompletionTokens, "max_completion_tokens", ChatRequestMapper.DefaultMaxTokens)
                : SamplingMapper.MaxTokens(request.MaxTokens, "max_tokens", ChatRequestMapper.DefaultMaxTokens),
            Sampling = SamplingMapper.Sampling(request.Temperature, request.TopP, request.Seed, request.PresencePenalty, request.FrequencyPenalty, 0),
            Filter = Filter(assistant.Filter),
            ResponseSchemaJson = ResponseFormatMapper.Map(request.ResponseFormat) switch
            {
                null => "",
                { JsonSchema: { } schema } => schema.Schema,
                _ => AnyObjectSchema,
            },
        };
        ask.Messages.AddRange(ChatRequestMapper.Messages(messages).Select(m => new ChatMessage
        {
            Role = m.Role switch { "system" => Role.System, "user" => Role.User, _ => Role.Assistant },
            Content = m.Content,
        }));
        return ask;
    }

    /// <summary>Retrieval's <c>Filter</c> from proto3 JSON (Google.Protobuf's parser: unknown fields and bad values are errors).</summary>
    private static Filter? Filter(JsonElement filter)
    {
        if (filter.ValueKind is JsonValueKind.Undefined or JsonValueKind.Null)
        {
            return null;
        }

        try
        {
            return JsonParser.Default.Parse<Filter>(filter.GetRawText());
        }
        catch (Exception e) when (e is InvalidProtocolBufferException or InvalidJsonException or FormatException)
        {
            throw new OpenAIRequestException("mesh.assistant.filter",
                $"'mesh.assistant.filter' is not a Retrieval filter in proto3 JSON (e.g. {{\"must\":[{{\"field\":{{\"key\":\"category\",\"match\":{{\"keyword\":\"footwear\"}}}}}}]}}): {e.Message}");
        }
    }

    /// <summary>Refuses any member of <paramref name="where"/> Mesh does not define, naming it.</summary>
    public static void RefuseUnknown(Dictionary<string, JsonElement>? extra, string where)
    {
        foreach (var name in extra?.Keys ?? Enumerable.Empty<string>())
        {
            throw new OpenAIRequestException($"{where}.{name}", $"'{where}.{name}' is not a Mesh option; {where} takes {(where == "mesh" ? "assistant" : "collection, filter, top_k, min_score, policy")}.");
        }
    }
}
