using System.Text;
using System.Text.Json;
using Google.Protobuf;
using Grpc.Core;
using Mesh.Assistant.V1;

namespace Mesh.Gateway.OpenAI;

/// <summary>
/// A chat completion answered by the assistant pipeline (<c>"mesh": {"assistant": {...}}</c>): one
/// <c>AssistantService/Ask</c> call through the gateway's own endpoint, so the key's tenant, collections,
/// models and limits apply as on gRPC. Streamed, the first chunk opens the assistant's turn and carries
/// <c>mesh.context</c> (the sources, before any text), text chunks follow, then the finish chunk, then a
/// last chunk with no choices carrying <c>mesh.done</c> (citations, redactions, timings) and the usage
/// when <c>stream_options.include_usage</c> is set. Not streamed, <c>mesh</c> holds context and done. A
/// guard's block ends the answer with a chunk whose <c>finish_reason</c> is <c>"content_filter"</c> (as
/// OpenAI's filter does; for a blocked question its content is the policy's message), then the last
/// chunk with <c>mesh.blocked</c>.
/// </summary>
public static class AssistantCompletions
{
    private static readonly JsonFormatter Proto3Json = new(JsonFormatter.Settings.Default.WithPreserveProtoFieldNames(true));

    /// <summary>Answers <paramref name="request"/> with the assistant (<paramref name="ask"/>), streamed or not as it asks.</summary>
    public static async Task HandleAsync(HttpContext context, GatewayLoopback loopback, ChatCompletionRequest request, AskRequest ask, string id, long created)
    {
        var client = new AssistantService.AssistantServiceClient(loopback.Invoker);
        var started = false;
        var first = true;
        var includeUsage = request.StreamOptions?.IncludeUsage == true;
        try
        {
            using var call = client.Ask(ask, GatewayLoopback.MetadataFor(context), cancellationToken: context.RequestAborted);
            var text = new StringBuilder();
            JsonElement? retrieved = null;
            MeshResultWire? final = null;
            string? finish = null;
            var usage = new UsageTotals();
            while (await call.ResponseStream.MoveNext(context.RequestAborted))
            {
                var e = call.ResponseStream.Current;
                string? content = null;
                string? chunkFinish = null;
                MeshResultWire? mesh = null;
                switch (e.EventCase)
                {
                    case AskResponse.EventOneofCase.Context:
                        retrieved = Json(e.Context);
                        mesh = new MeshResultWire(retrieved, null, null);
                        content = "";
                        break;
                    case AskResponse.EventOneofCase.Delta:
                        content = e.Delta;
                        break;
                    case AskResponse.EventOneofCase.Blocked:
                        // A blocked question gets the policy's message as its answer; a blocked answer just stops.
                        content = e.Blocked.Stage == Mesh.Guard.V1.Stage.Input ? e.Blocked.Message : null;
                        finish = chunkFinish = "content_filter";
                        final = new MeshResultWire(null, null, Json(e.Blocked));
                        break;
                    case AskResponse.EventOneofCase.Done:
                        usage.Add(e.Done.Usage ?? new Mesh.Inference.V1.Usage());
                        finish = SamplingMapper.FinishReason(e.Done.FinishReason) ?? "stop";
                        final = new MeshResultWire(null, Json(e.Done), null);
                        break;
                }

                text.Append(content);
                if (!request.Stream)
                {
                    continue;
                }

                if (!started)
                {
                    ServerSentEvents.Start(context);
                    started = true;
                }

                if (content is not null || mesh is not null || chunkFinish is not null)
                {
                    await WriteChunkAsync(context, id, created, ask.Model, new DeltaWire(first ? "assistant" : null, content), chunkFinish, mesh);
                    first = false;
                }
            }

            if (!request.Stream)
            {
                var message = new AssistantMessageWire("assistant", text.ToString());
                context.Response.ContentType = "application/json";
                await JsonSerializer.SerializeAsync(context.Response.Body,
                    new ChatCompletionResponse(id, "chat.completion", created, ask.Model, [new ChatChoiceWire(0, message, null, finish)], usage.ToWire(),
                        new MeshResultWire(retrieved, final?.Done, final?.Blocked)),
                    OpenAIJsonContext.Default.ChatCompletionResponse, context.RequestAborted);
                return;
            }

            if (finish != "content_filter")
            {
                await WriteChunkAsync(context, id, created, ask.Model, new DeltaWire(null, null), finish, null);
            }

            await ServerSentEvents.WriteAsync(context,
                new ChatCompletionChunk(id, "chat.completion.chunk", created, ask.Model, [], includeUsage ? usage.ToWire() : null, final),
                OpenAIJsonContext.Default.ChatCompletionChunk);
            await ServerSentEvents.WriteDoneAsync(context);
        }
        catch (RpcException ex)
        {
            await OpenAIErrors.WriteFailureAsync(context, ex, started);
        }
    }

    private static Task WriteChunkAsync(HttpContext context, string id, long created, string model, DeltaWire delta, string? finish, MeshResultWire? mesh) =>
        ServerSentEvents.WriteAsync(context,
            new ChatCompletionChunk(id, "chat.completion.chunk", created, model, [new ChatChunkChoiceWire(0, delta, null, finish)], null, mesh),
            OpenAIJsonContext.Default.ChatCompletionChunk);

    /// <summary>A message in proto3's JSON mapping with its proto field names (<c>question_redactions</c>, <c>input_guard_ms</c>).</summary>
    private static JsonElement Json(IMessage message)
    {
        using var document = JsonDocument.Parse(Proto3Json.Format(message));
        return document.RootElement.Clone();
    }
}
