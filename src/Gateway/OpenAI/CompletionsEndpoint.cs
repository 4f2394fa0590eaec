using System.Text;
using System.Text.Json;
using Grpc.Core;
using Mesh.Inference.V1;

namespace Mesh.Gateway.OpenAI;

/// <summary>
/// The legacy <c>POST /v1/completions</c> over Inference's Generate: one text prompt continued, with
/// the same parameters, errors and streaming rules as <see cref="ChatCompletionsEndpoint"/>.
/// <c>logprobs</c> is OpenAI's legacy integer (alternatives per token, at most 5); <c>response_format</c>
/// is Inference's structured output (<see cref="ResponseFormatMapper"/>).
/// </summary>
public static class CompletionsEndpoint
{
    /// <summary>OpenAI's default <c>max_tokens</c> for this endpoint.</summary>
    public const int DefaultMaxTokens = 16;

    /// <summary>The most alternatives per token the legacy endpoint allows.</summary>
    public const int MaxLogprobs = 5;

    /// <summary>Handles one <c>POST /v1/completions</c>.</summary>
    public static async Task HandleAsync(HttpContext context, GatewayLoopback loopback, TimeProvider time)
    {
        IReadOnlyList<GenerateRequest> calls;
        CompletionRequest request;
        try
        {
            request = await OpenAIRequests.ReadAsync(context, OpenAIJsonContext.Default.CompletionRequest);
            calls = Map(request, context.TraceIdentifier);
        }
        catch (OpenAIRequestException ex)
        {
            await OpenAIErrors.WriteAsync(context, ex);
            return;
        }

        var client = new InferenceService.InferenceServiceClient(loopback.Invoker);
        var id = $"cmpl-{context.TraceIdentifier}";
        var created = time.GetUtcNow().ToUnixTimeSeconds();
        var logprobs = request.Logprobs ?? 0;
        var usage = new UsageTotals();
        var started = false;
        try
        {
            var choices = new List<CompletionChoiceWire>();
            for (var i = 0; i < calls.Count; i++)
            {
                var text = new StringBuilder();
                var tokens = new List<TokenLogprob>();
                string? finish = null;
                var offset = 0;
                using var call = client.Generate(calls[i], GatewayLoopback.MetadataFor(context), cancellationToken: context.RequestAborted);
                while (await call.ResponseStream.MoveNext(context.RequestAborted))
                {
                    var message = call.ResponseStream.Current;
                    if (message.Usage is { } reported)
                    {
                        usage.Add(reported);
                    }

                    var reason = SamplingMapper.FinishReason(message.FinishReason);
                    finish = reason ?? finish;
                    if (!request.Stream)
                    {
                        text.Append(message.Text);
                        tokens.AddRange(message.Logprobs);
                        continue;
                    }

                    if (!started)
                    {
                        ServerSentEvents.Start(context);
                        started = true;
                    }

                    if (message.Text.Length > 0 || reason is not null)
                    {
                        await ServerSentEvents.WriteAsync(context,
                            new CompletionResponse(id, "text_completion", created, calls[i].Model,
                                [new CompletionChoiceWire(i, message.Text, logprobs > 0 ? Legacy(message.Logprobs, logprobs, offset) : null, reason)], null),
                            OpenAIJsonContext.Default.CompletionResponse);
                        offset += message.Text.Length;
                    }
                }

                choices.Add(new CompletionChoiceWire(i, text.ToString(), logprobs > 0 ? Legacy(tokens, logprobs, 0) : null, finish));
            }

            if (!request.Stream)
            {
                context.Response.ContentType = "application/json";
                await JsonSerializer.SerializeAsync(context.Response.Body,
                    new CompletionResponse(id, "text_completion", created, calls[0].Model, choices, usage.ToWire()),
                    OpenAIJsonContext.Default.CompletionResponse, context.RequestAborted);
                return;
            }

            if (request.StreamOptions?.IncludeUsage == true)
            {
                await ServerSentEvents.WriteAsync(context,
                    new CompletionResponse(id, "text_completion", created, calls[0].Model, [], usage.ToWire()),
                    OpenAIJsonContext.Default.CompletionResponse);
            }

            await ServerSentEvents.WriteDoneAsync(context);
        }
        catch (RpcException ex)
        {
            await OpenAIErrors.WriteFailureAsync(context, ex, started);
        }
    }

    private static IReadOnlyList<GenerateRequest> Map(CompletionRequest request, string requestId)
    {
        SamplingMapper.RefuseUnsupported(request.Extra);
        var model = SamplingMapper.RequireModel(request.Model);
        var prompt = request.Prompt switch
        {
            { ValueKind: JsonValueKind.String } s => s.GetString()!,
            { ValueKind: JsonValueKind.Array } a when a.GetArrayLength() == 1 && a[0].ValueKind == JsonValueKind.String => a[0].GetString()!,
            { ValueKind: JsonValueKind.Undefined or JsonValueKind.Null } => throw new OpenAIRequestException("prompt", "'prompt' is required."),
            _ => throw new OpenAIRequestException("prompt", "'prompt' must be a string (or an array holding one string)."),
        };
        if (request.Logprobs is < 0 or > MaxLogprobs)
        {
            throw new OpenAIRequestException("logprobs", $"'logprobs' must be between 0 and {MaxLogprobs}, not {request.Logprobs}.");
        }

        var maxTokens = SamplingMapper.MaxTokens(request.MaxTokens, "max_tokens", DefaultMaxTokens);
        var stop = SamplingMapper.Stop(request.Stop);
        var n = SamplingMapper.Choices(request.N);
        var format = ResponseFormatMapper.Map(request.ResponseFormat);
        return Enumerable.Range(0, n).Select(choice =>
        {
            var generate = new GenerateRequest
            {
                Model = model,
                Prompt = prompt,
                MaxTokens = maxTokens,
                Sampling = SamplingMapper.Sampling(request.Temperature, request.TopP, request.Seed, request.PresencePenalty, request.FrequencyPenalty, choice),
                TopLogprobs = request.Logprobs ?? 0,
                RequestId = n == 1 ? requestId : $"{requestId}-{choice}",
            };
            generate.Stop.AddRange(stop);
            generate.ResponseFormat = format?.Clone();
            return generate;
        }).ToList();
    }

    private static CompletionLogprobsWire Legacy(IEnumerable<TokenLogprob> tokens, int top, int offset)
    {
        var wire = new CompletionLogprobsWire([], [], [], []);
        foreach (var token in tokens)
        {
            wire.Tokens.Add(token.Token);
            wire.TokenLogprobs.Add(token.Logprob);
            var alternatives = new Dictionary<string, float>(StringComparer.Ordinal);
            foreach (var alternative in token.Top.Take(top))
            {
                alternatives.TryAdd(alternative.Token, alternative.Logprob);
            }

            wire.TopLogprobs.Add(alternatives);
            wire.TextOffset.Add(offset);
            offset += token.Token.Length;
        }

        return wire;
    }
}
