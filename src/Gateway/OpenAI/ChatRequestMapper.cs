using System.Text.Json;
using Mesh.Inference.V1;

namespace Mesh.Gateway.OpenAI;

/// <summary>
/// Turns an OpenAI chat completion request into the Inference <see cref="ChatRequest"/> of each choice,
/// or refuses it with the name of the field to fix.
/// </summary>
public static class ChatRequestMapper
{
    /// <summary>
    /// <c>max_tokens</c> when neither it nor <c>max_completion_tokens</c> is sent. OpenAI generates to the
    /// end of the context; Mesh needs a bound it can check against the context before rendering, so a
    /// caller wanting more sets it.
    /// </summary>
    public const int DefaultMaxTokens = 256;

    /// <summary>The most alternatives per token OpenAI allows (<c>top_logprobs</c>).</summary>
    public const int MaxTopLogprobs = 20;

    /// <summary>The Chat request of each of the <c>n</c> choices; an <see cref="OpenAIRequestException"/> naming the field when a parameter is out of range.</summary>
    public static IReadOnlyList<ChatRequest> Map(ChatCompletionRequest request, string requestId)
    {
        SamplingMapper.RefuseUnsupported(request.Extra);
        var model = SamplingMapper.RequireModel(request.Model);
        if (request.Messages is not { Count: > 0 } messages)
        {
            throw new OpenAIRequestException("messages", "'messages' is required and must hold at least one message.");
        }

        var mapped = Messages(messages);
        var maxTokens = request.MaxCompletionTokens is not null
            ? SamplingMapper.MaxTokens(request.MaxCompletionTokens, "max_completion_tokens", DefaultMaxTokens)
            : SamplingMapper.MaxTokens(request.MaxTokens, "max_tokens", DefaultMaxTokens);
        var topLogprobs = TopLogprobs(request.Logprobs, request.TopLogprobs);
        var stop = SamplingMapper.Stop(request.Stop);
        var n = SamplingMapper.Choices(request.N);
        var format = ResponseFormatMapper.Map(request.ResponseFormat);

        return Enumerable.Range(0, n).Select(choice =>
        {
            var chat = new ChatRequest
            {
                Model = model,
                MaxTokens = maxTokens,
                Sampling = SamplingMapper.Sampling(request.Temperature, request.TopP, request.Seed, request.PresencePenalty, request.FrequencyPenalty, choice),
                TopLogprobs = topLogprobs,
                RequestId = n == 1 ? requestId : $"{requestId}-{choice}",
                ResponseFormat = format?.Clone(),
            };
            chat.Messages.AddRange(mapped);
            chat.Stop.AddRange(stop);
            return chat;
        }).ToList();
    }

    /// <summary>
    /// Alternatives to ask Inference for: <c>logprobs: true</c> needs at least one (Inference returns
    /// log-probabilities only with alternatives); the answer then lists <c>top_logprobs</c> of them.
    /// </summary>
    public static int TopLogprobs(bool? logprobs, int? topLogprobs)
    {
        if (topLogprobs is < 0 or > MaxTopLogprobs)
        {
            throw new OpenAIRequestException("top_logprobs", $"'top_logprobs' must be between 0 and {MaxTopLogprobs}, not {topLogprobs}.");
        }

        if (logprobs != true)
        {
            return topLogprobs is > 0
                ? throw new OpenAIRequestException("top_logprobs", "'top_logprobs' needs 'logprobs': true.")
                : 0;
        }

        return Math.Max(1, topLogprobs ?? 0);
    }

    /// <summary>The messages as Inference's: roles checked (<c>developer</c> is <c>system</c>), content parts joined.</summary>
    public static List<ChatMessage> Messages(IEnumerable<ChatMessageWire> messages) => messages.Select(Message).ToList();

    private static ChatMessage Message(ChatMessageWire message, int index)
    {
        var role = message.Role switch
        {
            "system" or "developer" => "system",
            "user" or "assistant" => message.Role,
            _ => throw new OpenAIRequestException($"messages[{index}].role",
                $"messages[{index}].role must be system, developer, user or assistant, not '{message.Role}'."),
        };
        return new ChatMessage { Role = role, Content = Content(message.Content, index) };
    }

    private static string Content(JsonElement content, int index)
    {
        switch (content.ValueKind)
        {
            case JsonValueKind.String:
                return content.GetString()!;
            case JsonValueKind.Null or JsonValueKind.Undefined:
                return "";
            case JsonValueKind.Array:
                var text = new System.Text.StringBuilder();
                foreach (var part in content.EnumerateArray())
                {
                    if (part.ValueKind != JsonValueKind.Object
                        || !part.TryGetProperty("type", out var type) || type.ValueKind != JsonValueKind.String || type.GetString() != "text"
                        || !part.TryGetProperty("text", out var value) || value.ValueKind != JsonValueKind.String)
                    {
                        throw new OpenAIRequestException($"messages[{index}].content",
                            $"messages[{index}].content parts must be {{\"type\":\"text\",\"text\":...}}: this server takes text only.");
                    }

                    text.Append(value.GetString());
                }

                return text.ToString();
            default:
                throw new OpenAIRequestException($"messages[{index}].content", $"messages[{index}].content must be a string or an array of text parts.");
        }
    }
}
