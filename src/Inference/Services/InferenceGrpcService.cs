using System.Diagnostics;
using Grpc.Core;
using Mesh.Inference.Engine;
using Mesh.Inference.Hosting;
using Mesh.Inference.V1;
using Mesh.ServiceDefaults.Errors;
using Mesh.ServiceDefaults.Tenancy;
using static Mesh.Inference.Services.GenerateRequestValidator;
using EngineFinish = Mesh.Inference.Engine.FinishReason;
using ProtoFinish = Mesh.Inference.V1.FinishReason;

namespace Mesh.Inference.Services;

/// <summary>
/// The <c>mesh.inference.v1.InferenceService</c> RPCs over the loaded models' engines. Generation
/// runs for the call's tenant (<c>x-mesh-tenant</c>, verified by <see cref="TenantResolver"/>), which
/// salts the prefix cache so tenants never share KV blocks.
/// </summary>
public sealed class InferenceGrpcService(ModelRegistry models, TenantResolver tenants) : InferenceService.InferenceServiceBase
{
    /// <summary>The header carrying the gateway's request id, used when the request has none of its own.</summary>
    public const string RequestIdHeader = "x-request-id";

    /// <summary>
    /// The source of the per-request <c>generate</c>/<c>chat</c>/<c>complete</c> spans (<c>gen_ai.*</c> attributes); the host exports it.
    /// </summary>
    public static readonly ActivitySource ActivitySource = new("Mesh.Inference");

    /// <summary>
    /// Streams the generation of <paramref name="request"/>: text and token ids as they are decoded, the
    /// finish reason and usage on the last message. INVALID_ARGUMENT for a bad field or a prompt plus
    /// max_tokens the KV cache can never hold (no retry hint: only asking for less helps), NOT_FOUND for an
    /// unknown model, RESOURCE_EXHAUSTED (with <c>retry-after-ms</c>) when the waiting queue is full,
    /// FAILED_PRECONDITION when the response format cannot be continued.
    /// </summary>
    public override Task Generate(GenerateRequest request, IServerStreamWriter<GenerateResponse> responseStream, ServerCallContext context)
    {
        var (engine, adapter) = Resolve(request.Model, request.Adapter);
        return StreamAsync("generate", engine, ForCaller(Validate(request, engine.Model), request, adapter, context), responseStream, context);
    }

    /// <summary>Chat: the messages rendered with the model's chat template, then served as Generate.</summary>
    public override Task Chat(ChatRequest request, IServerStreamWriter<GenerateResponse> responseStream, ServerCallContext context)
    {
        var (engine, adapter) = Resolve(request.Model, request.Adapter);
        var generate = ChatRequestValidator.ToGenerateRequest(request, engine.Model, () => models.ChatTemplateOf(engine.Model.Id));
        return StreamAsync("chat", engine, ForCaller(Validate(generate, engine.Model), generate, adapter, context), responseStream, context);
    }

    /// <summary>
    /// Generate in one response: the whole text, every token and logprob, finish reason and usage; the same errors.
    /// </summary>
    public override async Task<CompleteResponse> Complete(GenerateRequest request, ServerCallContext context)
    {
        var (engine, adapter) = Resolve(request.Model, request.Adapter);
        var generation = ForCaller(Validate(request, engine.Model), request, adapter, context);
        using var activity = StartActivity("complete", engine, generation);
        var output = Submit(engine, generation, context.CancellationToken);
        var response = new CompleteResponse { Model = engine.Model.Id };
        var text = new System.Text.StringBuilder();
        await foreach (var chunk in output.ReadAllAsync(context.CancellationToken))
        {
            var part = ToResponse(chunk, engine);
            text.Append(part.Text);
            response.TokenIds.AddRange(part.TokenIds);
            response.Logprobs.AddRange(part.Logprobs);
            if (chunk.Finish is not null)
            {
                response.FinishReason = part.FinishReason;
                response.Usage = part.Usage;
            }

            Record(activity, chunk);
        }

        response.Text = text.ToString();
        return response;
    }

    /// <summary>
    /// The token ids and pieces of <c>text</c> (BOS as <c>add_bos</c>, else the model's default). NOT_FOUND for an unknown model.
    /// </summary>
    public override Task<TokenizeResponse> Tokenize(TokenizeRequest request, ServerCallContext context)
    {
        var model = Resolve(request.Model, "").Engine.Model;
        var tokenizer = model.Tokenizer;
        int[] ids;
        if (request.Messages.Count > 0)
        {
            Require(request.Text.Length == 0, "give either text or messages, not both");
            Require(!request.HasAddBos, "add_bos does not apply to messages: the conversation is encoded exactly as Chat encodes it");
            ids = ChatRequestValidator.Encode(request.Messages, request.HasAddGenerationPrompt ? request.AddGenerationPrompt : true, model, () => models.ChatTemplateOf(model.Id));
        }
        else
        {
            ids = tokenizer.Encode(request.Text, request.HasAddBos ? request.AddBos : tokenizer.AddBosByDefault);
        }

        var response = new TokenizeResponse();
        response.TokenIds.AddRange(ids);
        response.Pieces.AddRange(ids.Select(tokenizer.TokenText));
        return Task.FromResult(response);
    }

    /// <summary>The text of <c>token_ids</c>; an id outside the vocabulary is INVALID_ARGUMENT.</summary>
    public override Task<DetokenizeResponse> Detokenize(DetokenizeRequest request, ServerCallContext context)
    {
        var tokenizer = Resolve(request.Model, "").Engine.Model.Tokenizer;
        foreach (var id in request.TokenIds)
        {
            Require(tokenizer.IsValid(id), $"token_ids: {id} is not a token id (valid: 0 to {tokenizer.VocabSize - 1})");
        }

        return Task.FromResult(new DetokenizeResponse { Text = tokenizer.Decode([.. request.TokenIds]) });
    }

    /// <summary>
    /// Log-probability of each token of <c>text</c> given those before it (teacher forcing), their negative
    /// sum (nats) and perplexity. INVALID_ARGUMENT for an empty text, fewer than two tokens or more than
    /// the context; RESOURCE_EXHAUSTED when the engine is full.
    /// </summary>
    public override async Task<ScoreResponse> Score(ScoreRequest request, ServerCallContext context)
    {
        var (engine, adapter) = Resolve(request.Model, request.Adapter);
        var model = engine.Model;
        Require(request.Text.Length > 0, "text is empty: give the text to score");
        var ids = model.Tokenizer.Encode(request.Text, request.HasAddBos ? request.AddBos : model.Tokenizer.AddBosByDefault);
        Require(ids.Length >= 2, "the text must encode to at least two tokens (one to condition on, one to score); keep add_bos on or give more text");
        Require(ids.Length <= model.Config.ContextLength, $"the text is {ids.Length} tokens but the context of model '{model.Id}' is {model.Config.ContextLength}");
        float[] logprobs;
        try
        {
            logprobs = await engine.ScoreAsync(ids, adapter, context.CancellationToken);
        }
        catch (EngineOverloadedException e)
        {
            throw Overloaded(e);
        }

        var nll = -logprobs.Sum(l => (double)l);
        var response = new ScoreResponse { Nll = nll, ScoredTokens = logprobs.Length, Perplexity = Math.Exp(nll / logprobs.Length) };
        response.TokenIds.AddRange(ids);
        response.Logprobs.AddRange(logprobs);
        return response;
    }

    /// <summary>
    /// Every loaded model's id, format, architecture, weight type, shape, parameters and backend (never its path).
    /// </summary>
    public override Task<ListModelsResponse> ListModels(ListModelsRequest request, ServerCallContext context)
    {
        var response = new ListModelsResponse();
        foreach (var engine in models.Engines)
        {
            var m = engine.Model;
            response.Models.Add(new ModelInfo
            {
                // No file path: callers hold API keys, not access to the server's file system.
                Id = m.Id,
                Format = m.Format,
                Architecture = "llama",
                WeightType = m.WeightType,
                ContextLength = m.Config.ContextLength,
                VocabSize = m.Config.VocabSize,
                EmbeddingLength = m.Config.Dim,
                Layers = m.Config.Layers,
                Heads = m.Config.Heads,
                KvHeads = m.Config.KvHeads,
                Parameters = m.Weights.ParameterCount,
                Backend = engine.Backend.Name,
            });
        }

        return Task.FromResult(response);
    }

    /// <summary>
    /// The caller's tenant as the prefix cache's salt, and the gateway's request id when the request
    /// names none, so the per-request log line matches the gateway's access log.
    /// </summary>
    private GenerationRequest ForCaller(GenerationRequest generation, GenerateRequest request, Models.Lora.LoraAdapter? adapter, ServerCallContext context)
    {
        var tenant = tenants.Resolve(context);
        var header = context.RequestHeaders.GetValue(RequestIdHeader);
        return request.RequestId.Length == 0 && !string.IsNullOrEmpty(header) && header.Length <= 128
            ? generation with { CacheSalt = tenant, RequestId = header, Adapter = adapter }
            : generation with { CacheSalt = tenant, Adapter = adapter };
    }

    private static async Task StreamAsync(string operation, InferenceEngine engine, GenerationRequest generation, IServerStreamWriter<GenerateResponse> responseStream, ServerCallContext context)
    {
        using var activity = StartActivity(operation, engine, generation);
        var output = Submit(engine, generation, context.CancellationToken);
        await foreach (var chunk in output.ReadAllAsync(context.CancellationToken))
        {
            await responseStream.WriteAsync(ToResponse(chunk, engine), context.CancellationToken);
            Record(activity, chunk);
        }
    }

    private static System.Threading.Channels.ChannelReader<GenerationChunk> Submit(InferenceEngine engine, GenerationRequest request, CancellationToken cancellation)
    {
        try
        {
            return engine.Submit(request, cancellation);
        }
        catch (EngineOverloadedException e)
        {
            throw Overloaded(e);
        }
        catch (KvCapacityExceededException e)
        {
            // Retrying can never help (unlike a full queue), so no retry hint: the caller must ask for less.
            throw ServiceException.InvalidArgument(e.Message);
        }
    }

    /// <summary>RESOURCE_EXHAUSTED with the engine's <c>retry-after-ms</c> hint.</summary>
    private static ServiceException Overloaded(EngineOverloadedException e) => ServiceException.ResourceExhausted(e.Message, e.RetryAfter);

    /// <summary>
    /// The engine and LoRA adapter a request names: <paramref name="model"/> is a loaded model's id, or
    /// <c>base:adapter</c> (OpenAI's <c>model</c> form; a loaded id containing ':' wins), and
    /// <paramref name="adapterField"/> the <c>adapter</c> field (empty: none). NOT_FOUND for an unknown
    /// model or adapter; INVALID_ARGUMENT when both forms name different adapters.
    /// </summary>
    private (InferenceEngine Engine, Models.Lora.LoraAdapter? Adapter) Resolve(string model, string adapterField)
    {
        Require(model.Length > 0, $"model is required (loaded: {string.Join(", ", models.Engines.Select(e => e.Model.Id))})");
        var id = model;
        var name = adapterField;
        var colon = model.LastIndexOf(':');
        if (!models.TryGet(model, out _) && colon > 0)
        {
            id = model[..colon];
            name = model[(colon + 1)..];
            Require(adapterField.Length == 0 || adapterField == name, $"model names adapter '{name}' but adapter is '{adapterField}': name it once");
        }

        if (!models.TryGet(id, out var engine))
        {
            throw ServiceException.NotFound($"model '{model}' is not loaded here; ListModels lists the loaded ones ({string.Join(", ", models.Engines.Select(e => e.Model.Id))})");
        }

        if (name.Length == 0)
        {
            return (engine, null);
        }

        return models.TryGetAdapters(id, out var store) && store.TryGet(name, out var adapter)
            ? (engine, adapter)
            : throw ServiceException.NotFound($"adapter '{name}' is not loaded over model '{id}'; ListAdapters lists the loaded ones");
    }

    private static GenerateResponse ToResponse(GenerationChunk chunk, InferenceEngine engine)
    {
        var tokenizer = engine.Model.Tokenizer;
        var response = new GenerateResponse { Text = chunk.Text };
        response.TokenIds.AddRange(chunk.TokenIds);
        if (chunk.Logprobs is not null)
        {
            foreach (var lp in chunk.Logprobs)
            {
                var entry = new V1.TokenLogprob { TokenId = lp.TokenId, Token = tokenizer.TokenText(lp.TokenId), Logprob = lp.Logprob };
                entry.Top.AddRange(lp.Top.Select(t => new TopLogprob { TokenId = t.TokenId, Token = tokenizer.TokenText(t.TokenId), Logprob = t.Logprob }));
                response.Logprobs.Add(entry);
            }
        }

        if (chunk.Finish is { } finish)
        {
            response.FinishReason = finish switch
            {
                EngineFinish.Length => ProtoFinish.Length,
                EngineFinish.Stop => ProtoFinish.Stop,
                EngineFinish.Eos => ProtoFinish.Eos,
                _ => ProtoFinish.Cancelled,
            };
            var u = chunk.Usage!;
            response.Usage = new Usage
            {
                PromptTokens = u.PromptTokens,
                CompletionTokens = u.CompletionTokens,
                CachedPromptTokens = u.CachedPromptTokens,
                TimeToFirstTokenMs = u.TimeToFirstTokenMs,
                TotalTimeMs = u.TotalTimeMs,
            };
        }

        return response;
    }

    private static Activity? StartActivity(string operation, InferenceEngine engine, GenerationRequest request)
    {
        var activity = ActivitySource.StartActivity($"{operation} {engine.Model.Id}");
        activity?.SetTag("gen_ai.operation.name", operation == "chat" ? "chat" : "text_completion");
        activity?.SetTag("gen_ai.request.model", engine.Model.Id);
        activity?.SetTag("gen_ai.request.max_tokens", request.MaxTokens);
        activity?.SetTag("gen_ai.request.temperature", request.Sampling.Temperature);
        activity?.SetTag("mesh.request_id", request.RequestId);
        return activity;
    }

    private static void Record(Activity? activity, GenerationChunk chunk)
    {
        if (activity is null || chunk.Usage is null)
        {
            return;
        }

        activity.SetTag("gen_ai.usage.input_tokens", chunk.Usage.PromptTokens);
        activity.SetTag("gen_ai.usage.output_tokens", chunk.Usage.CompletionTokens);
        activity.SetTag("gen_ai.response.finish_reasons", chunk.Finish.ToString()!.ToLowerInvariant());
    }
}
