using System.Text;
using System.Text.Json;
using Grpc.Core;
using Mesh.Inference.V1;

namespace Mesh.Gateway.OpenAI;

/// <summary>
/// <c>POST /v1/chat/completions</c> over Inference's Chat RPC (the model's chat template). Each of the
/// <c>n</c> choices is one Chat call; streamed choices follow one another, each chunk naming its
/// <c>index</c>. A stream commits its HTTP status only once the first choice's first message has
/// arrived, so a refused call (bad key, unknown model, limits) is still answered with OpenAI's status
/// and error body; a failure after that ends the stream with an <c>error</c> event. A request with
/// <c>"mesh": {"assistant": {...}}</c> is answered by the assistant pipeline instead
/// (<see cref="AssistantCompletions"/>).
/// </summary>
public static class ChatCompletionsEndpoint
{
    /// <summary>Handles one <c>POST /v1/chat/completions</c>.</summary>
    public static async Task HandleAsync(HttpContext context, GatewayLoopback loopback, TimeProvider time)
    {
        IReadOnlyList<ChatRequest> calls;
        ChatCompletionRequest request;
        Mesh.Assistant.V1.AskRequest? ask = null;
        try
        {
            request = await OpenAIRequests.ReadAsync(context, OpenAIJsonContext.Default.ChatCompletionRequest);
            if (request.Mesh?.Assistant is { } assistant)
            {
                ask = AssistantRequestMapper.Map(request, assistant);
                calls = [];
            }
            else
            {
                AssistantRequestMapper.RefuseUnknown(request.Mesh?.Extra, "mesh");
                calls = ChatRequestMapper.Map(request, context.TraceIdentifier);
            }
        }
        catch (OpenAIRequestException ex)
        {
            await OpenAIErrors.WriteAsync(context, ex);
            return;
        }

        var id = $"chatcmpl-{context.TraceIdentifier}";
        var created = time.GetUtcNow().ToUnixTimeSeconds();
        if (ask is not null)
        {
            await AssistantCompletions.HandleAsync(context, loopback, request, ask, id, created);
            return;
        }

        var client = new InferenceService.InferenceServiceClient(loopback.Invoker);
        var wantLogprobs = request.Logprobs == true;
        var topLogprobs = request.TopLogprobs ?? 0;
        var started = false;
        var usage = new UsageTotals();
        try
        {
            if (!request.Stream)
            {
                var choices = new List<ChatChoiceWire>();
                for (var i = 0; i < calls.Count; i++)
                {
                    var text = new StringBuilder();
                    var logprobs = new List<TokenLogprobWire>();
                    string? finish = null;
                    using var call = client.Chat(calls[i], GatewayLoopback.MetadataFor(context), cancellationToken: context.RequestAborted);
                    await foreach (var message in call.ResponseStream.ReadAllAsync(context.RequestAborted))
                    {
                        text.Append(message.Text);
                        logprobs.AddRange(message.Logprobs.Select(l => OpenAILogprobs.Chat(l, topLogprobs)));
                        finish = Finish(message, usage) ?? finish;
                    }

                    choices.Add(new ChatChoiceWire(i, new AssistantMessageWire("assistant", text.ToString()),
                        wantLogprobs ? new LogprobsWire(logprobs) : null, finish));
                }

                context.Response.ContentType = "application/json";
                await JsonSerializer.SerializeAsync(context.Response.Body,
                    new ChatCompletionResponse(id, "chat.completion", created, calls[0].Model, choices, usage.ToWire()),
                    OpenAIJsonContext.Default.ChatCompletionResponse, context.RequestAborted);
                return;
            }

            var includeUsage = request.StreamOptions?.IncludeUsage == true;
            for (var i = 0; i < calls.Count; i++)
            {
                using var call = client.Chat(calls[i], GatewayLoopback.MetadataFor(context), cancellationToken: context.RequestAborted);
                var first = true;
                while (await call.ResponseStream.MoveNext(context.RequestAborted))
                {
                    if (!started)
                    {
                        ServerSentEvents.Start(context);
                        started = true;
                    }

                    var message = call.ResponseStream.Current;
                    var finish = Finish(message, usage);
                    if (first || message.Text.Length > 0 || message.Logprobs.Count > 0 || finish is not null)
                    {
                        var logprobs = wantLogprobs && message.Logprobs.Count > 0
                            ? new LogprobsWire(message.Logprobs.Select(l => OpenAILogprobs.Chat(l, topLogprobs)).ToList())
                            : null;
                        var delta = new DeltaWire(first ? "assistant" : null, message.Text.Length > 0 || first ? message.Text : null);
                        await ServerSentEvents.WriteAsync(context,
                            new ChatCompletionChunk(id, "chat.completion.chunk", created, calls[i].Model,
                                [new ChatChunkChoiceWire(i, delta, logprobs, finish)], null),
                            OpenAIJsonContext.Default.ChatCompletionChunk);
                        first = false;
                    }
                }
            }

            if (includeUsage)
            {
                await ServerSentEvents.WriteAsync(context,
                    new ChatCompletionChunk(id, "chat.completion.chunk", created, calls[0].Model, [], usage.ToWire()),
                    OpenAIJsonContext.Default.ChatCompletionChunk);
            }

            await ServerSentEvents.WriteDoneAsync(context);
        }
        catch (RpcException ex)
        {
            await OpenAIErrors.WriteFailureAsync(context, ex, started);
        }
    }

    private static string? Finish(GenerateResponse message, UsageTotals usage)
    {
        if (message.Usage is { } reported)
        {
            usage.Add(reported);
        }

        return SamplingMapper.FinishReason(message.FinishReason);
    }
}
