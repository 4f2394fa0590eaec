using System.Diagnostics;
using Grpc.Core;
using Mesh.Assistant.V1;
using Mesh.Guard.V1;
using Mesh.Inference.V1;
using Mesh.Retrieval.V1;
using Microsoft.Extensions.Options;
using GuardAction = Mesh.Guard.V1.Action;

namespace Mesh.Gateway.Assistant;

/// <summary>
/// <c>mesh.assistant.v1.AssistantService/Ask</c>: input guard (block, or redact the question) →
/// retrieval in the caller's tenant → conversation with numbered sources, trimmed to the model's
/// context → streamed generation through Inference's Chat (the model's chat template) → streaming output guard → context, deltas, blocked or done (usage,
/// citations, stage timings). Each stage is a span under <c>assistant.ask</c>; errors of a stage's
/// service (NOT_FOUND, PERMISSION_DENIED, RESOURCE_EXHAUSTED with <c>retry-after-ms</c>) reach the
/// caller unchanged.
/// </summary>
internal sealed class AssistantGrpcService(
    UpstreamClients upstream, InputCheckCache inputCache, PromptTokenCache promptTokens, AnswerScoring scoring, IOptions<AssistantOptions> options, ILogger<AssistantGrpcService> logger)
    : AssistantService.AssistantServiceBase
{
    public override async Task Ask(AskRequest request, IServerStreamWriter<AskResponse> responses, ServerCallContext context)
    {
        AskRequestValidator.Validate(request);
        var clock = Stopwatch.StartNew();
        var ct = context.CancellationToken;
        var call = UpstreamClients.For(context);
        var requestId = context.GetHttpContext().Response.Headers[Observability.RequestIds.HeaderName].ToString();
        var policy = request.Policy.Length > 0 ? request.Policy : options.Value.DefaultPolicy;
        var timings = new StageTimings();
        using var ask = AssistantTelemetry.Source.StartActivity("assistant.ask");
        ask?.SetTag("gen_ai.request.model", request.Model);
        try
        {
            // 1. Input guard: the question as the model will see it.
            var question = request.Messages[^1].Content;
            CheckResponse input;
            var stage = clock.Elapsed;
            using (var span = AssistantTelemetry.Source.StartActivity("assistant.input_guard"))
            {
                input = await inputCache.GetOrCheckAsync(call.Headers?.GetValue("authorization"), policy, question,
                    async () => await upstream.Guard.CheckAsync(
                        new CheckRequest { Stage = Stage.Input, Policy = policy, Text = question, RequestId = requestId }, call));
                span?.SetTag("mesh.guard.verdict", input.Verdict.ToString());
                span?.SetTag("mesh.guard.violations", input.Violations.Count);
                timings.InputGuardMs = Since(clock, stage);
            }

            if (input.Verdict == GuardAction.Block)
            {
                ask?.SetTag("mesh.assistant.outcome", "blocked_input");
                await scoring.ScoreAsync(request.Model, question, "", [], "", GuardAction.Block, GuardAction.Unspecified, requestId, call, ask);
                await responses.WriteAsync(new AskResponse { Blocked = BlockedBy(Stage.Input, input.Policy, input.Violations) }, ct);
                return;
            }

            if (input.Verdict == GuardAction.Redact)
            {
                question = input.RedactedText;
            }

            // 2. Retrieval in the key's tenant (the gateway route adds it to the call).
            IReadOnlyList<ScoredPoint> sources = [];
            if (request.Collection.Length > 0)
            {
                stage = clock.Elapsed;
                using var span = AssistantTelemetry.Source.StartActivity("assistant.retrieval");
                var search = new SearchRequest
                {
                    Collection = request.Collection,
                    Text = question,
                    Limit = (uint)(request.TopK == 0 ? AskRequestValidator.DefaultTopK : request.TopK),
                    Filter = request.Filter,
                    WithPayload = true,
                };
                if (request.MinScore > 0)
                {
                    search.ScoreThreshold = request.MinScore;
                }

                sources = (await upstream.Retrieval.SearchAsync(search, call)).Points;
                span?.SetTag("mesh.retrieval.collection", request.Collection);
                span?.SetTag("mesh.retrieval.points", sources.Count);
                timings.RetrievalMs = Since(clock, stage);
            }

            // 3. Prompt, with as many sources as fit the model's context next to max_tokens.
            var maxTokens = request.MaxTokens == 0 ? AskRequestValidator.DefaultMaxTokens : request.MaxTokens;
            IReadOnlyList<Inference.V1.ChatMessage> prompt;
            stage = clock.Elapsed;
            using (var span = AssistantTelemetry.Source.StartActivity("assistant.prompt"))
            {
                (prompt, sources) = await FitPromptAsync(request, question, sources, maxTokens, call);
                span?.SetTag("mesh.assistant.sources", sources.Count);
                timings.PromptMs = Since(clock, stage);
            }

            var retrieved = new RetrievedContext { Question = question };
            retrieved.Points.AddRange(sources);
            retrieved.QuestionRedactions.AddRange(input.Violations.Where(v => v.Action == GuardAction.Redact));
            await responses.WriteAsync(new AskResponse { Context = retrieved }, ct);

            // 4 + 5. Generation, each piece checked by the output guard before it is sent.
            await GenerateGuardedAsync(request, prompt, maxTokens, policy, requestId, sources, call, responses, timings, clock, ask, ct, question, input.Verdict);
        }
        catch (RpcException e) when (!ct.IsCancellationRequested)
        {
            logger.LogInformation("Ask {RequestId} failed in a stage: {Status} {Detail}", requestId, e.StatusCode, e.Status.Detail);
            throw new RpcException(e.Status, KeepRetryAfter(e.Trailers));
        }
    }

    private async Task GenerateGuardedAsync(
        AskRequest request, IReadOnlyList<Inference.V1.ChatMessage> prompt, int maxTokens, string policy, string requestId, IReadOnlyList<ScoredPoint> sources,
        CallOptions call, IServerStreamWriter<AskResponse> responses, StageTimings timings, Stopwatch clock, Activity? ask, CancellationToken ct,
        string question, GuardAction inputVerdict)
    {
        using var span = AssistantTelemetry.Source.StartActivity("assistant.generation");
        span?.SetTag("gen_ai.request.model", request.Model);
        span?.SetTag("gen_ai.request.max_tokens", maxTokens);
        var started = clock.Elapsed;
        var chat = new ChatRequest
        {
            Model = request.Model,
            MaxTokens = maxTokens,
            Sampling = request.Sampling,
            RequestId = requestId,
            // Decoding constrained to the schema, so the answer is valid JSON of that shape.
            ResponseFormat = request.ResponseSchemaJson.Length == 0
                ? null
                : new ResponseFormat { JsonSchema = new JsonSchemaFormat { Schema = request.ResponseSchemaJson } },
        };
        chat.Messages.AddRange(prompt);
        using var generation = upstream.Inference.Chat(chat, call);
        using var guard = new OutputGuard(() => upstream.Guard.CheckStream(call), check => upstream.Guard.CheckAsync(check, call).ResponseAsync, options.Value);

        GenerateResponse? last = null;
        await foreach (var piece in generation.ResponseStream.ReadAllAsync(ct))
        {
            if (piece.Usage is not null)
            {
                last = piece;
            }

            var (release, blocked) = await guard.AppendAsync(piece.Text, policy, requestId, ct);
            if (blocked is not null)
            {
                await scoring.ScoreAsync(request.Model, question, "", sources, "", inputVerdict, GuardAction.Block, requestId, call, ask);
                await WriteOutputBlockedAsync(blocked, responses, timings, guard, ask, span, ct);
                return;
            }

            await SendDeltaAsync(release, responses, timings, clock, ct);
        }

        timings.GenerationMs = (clock.Elapsed - started).TotalMilliseconds;
        var (rest, final) = await guard.CompleteAsync(policy, requestId, ct);
        timings.OutputGuardMs = guard.Waited.TotalMilliseconds;
        if (final.Verdict == GuardAction.Block)
        {
            await scoring.ScoreAsync(request.Model, question, "", sources, "", inputVerdict, GuardAction.Block, requestId, call, ask);
            await WriteOutputBlockedAsync(final, responses, timings, guard, ask, span, ct);
            return;
        }

        await SendDeltaAsync(rest, responses, timings, clock, ct);
        var done = new Done
        {
            FinishReason = last?.FinishReason ?? FinishReason.Unspecified,
            Usage = last?.Usage ?? new Usage(),
            Timings = timings,
        };
        done.Redactions.AddRange(final.Violations.Where(v => v.Action == GuardAction.Redact));
        done.Citations.AddRange(Citations.Extract(guard.Sent.ToString(), sources));
        span?.SetTag("gen_ai.usage.input_tokens", done.Usage.PromptTokens);
        span?.SetTag("gen_ai.usage.output_tokens", done.Usage.CompletionTokens);
        span?.SetTag("mesh.assistant.citations", done.Citations.Count);
        done.Scores = await scoring.ScoreAsync(request.Model, question, guard.Sent.ToString(), sources, request.ResponseSchemaJson,
            inputVerdict, final.Verdict, requestId, call, ask);
        if (request.ResponseSchemaJson.Length > 0)
        {
            // Scoring validated the same text against the same schema with Guard's same validator; only
            // an answer not scored (sampled out, scoring off or failed) needs its own ValidateJson hop.
            if (done.Scores is { HasFormatValid: true } scored)
            {
                done.SchemaErrors.AddRange(scored.FormatErrors);
            }
            else
            {
                var validation = await upstream.Guard.ValidateJsonAsync(
                    new ValidateJsonRequest { Json = guard.Sent.ToString(), Schema = request.ResponseSchemaJson }, call);
                done.SchemaErrors.AddRange(validation.Errors.Select(e => $"{e.InstanceLocation}: {e.Message}"));
            }
        }
        timings.TotalMs = clock.Elapsed.TotalMilliseconds;
        ask?.SetTag("mesh.assistant.outcome", "done");
        await responses.WriteAsync(new AskResponse { Done = done }, ct);
    }

    /// <summary>
    /// Builds the conversation; drops the lowest-ranked sources until its prompt (Tokenize with
    /// messages: exactly the ids Chat generates from, chat template included) plus max_tokens fits the
    /// context.
    /// </summary>
    private async Task<(IReadOnlyList<Inference.V1.ChatMessage> Prompt, IReadOnlyList<ScoredPoint> Sources)> FitPromptAsync(
        AskRequest request, string question, IReadOnlyList<ScoredPoint> sources, int maxTokens, CallOptions call)
    {
        var context = await upstream.ContextLengthAsync(request.Model, call);
        while (true)
        {
            var prompt = PromptAssembler.Build(request.Messages, question, sources);
            if (sources.Count == 0)
            {
                return (prompt, sources); // Inference names the limit if even this does not fit.
            }

            var tokens = await promptTokens.GetOrCountAsync(call.Headers?.GetValue("authorization"), request.Model, prompt, async () =>
            {
                var tokenize = new TokenizeRequest { Model = request.Model };
                tokenize.Messages.AddRange(prompt);
                return (await upstream.Inference.TokenizeAsync(tokenize, call)).TokenIds.Count;
            });
            if (tokens + maxTokens <= context)
            {
                return (prompt, sources);
            }

            sources = sources.Take(sources.Count - 1).ToList();
        }
    }

    private static async Task SendDeltaAsync(string text, IServerStreamWriter<AskResponse> responses, StageTimings timings, Stopwatch clock, CancellationToken ct)
    {
        if (text.Length == 0)
        {
            return;
        }

        if (timings.TimeToFirstDeltaMs == 0)
        {
            timings.TimeToFirstDeltaMs = clock.Elapsed.TotalMilliseconds;
        }

        await responses.WriteAsync(new AskResponse { Delta = text }, ct);
    }

    private static async Task WriteOutputBlockedAsync(
        CheckStreamResponse blocked, IServerStreamWriter<AskResponse> responses, StageTimings timings, OutputGuard guard,
        Activity? ask, Activity? span, CancellationToken ct)
    {
        timings.OutputGuardMs = guard.Waited.TotalMilliseconds;
        span?.SetTag("mesh.guard.verdict", blocked.Verdict.ToString());
        ask?.SetTag("mesh.assistant.outcome", "blocked_output");
        await responses.WriteAsync(new AskResponse { Blocked = BlockedBy(Stage.Output, blocked.Policy, blocked.Violations) }, ct);
    }

    /// <summary>The message shown to the end user is the blocking rule's own message.</summary>
    private static Blocked BlockedBy(Stage stage, string policy, IEnumerable<Violation> violations)
    {
        var blocked = new Blocked { Stage = stage };
        blocked.Violations.AddRange(violations);
        var rule = blocked.Violations.FirstOrDefault(v => v.Action == GuardAction.Block);
        var what = stage == Stage.Input ? "question" : "answer";
        blocked.Message = rule is null
            ? $"The {what} was blocked by policy '{policy}'."
            : $"The {what} was blocked by policy '{policy}' ({rule.Rule}): {rule.Message}";
        return blocked;
    }

    private static double Since(Stopwatch clock, TimeSpan start) => (clock.Elapsed - start).TotalMilliseconds;

    private static Metadata KeepRetryAfter(Metadata trailers)
    {
        var kept = new Metadata();
        foreach (var entry in trailers.Where(t => t.Key == "retry-after-ms"))
        {
            kept.Add(entry);
        }

        return kept;
    }
}
