using System.Diagnostics;
using Mesh.Inference.Backends;
using Mesh.Inference.Engine;
using Mesh.Inference.Models;
using Microsoft.Extensions.Logging;

namespace Mesh.Inference.Hosting;

/// <summary>
/// A model loaded for serving: the file, the backend holding its weights and KV cache, and the
/// scheduler in front of them, created together and disposed together (scheduler first). The gRPC
/// host and the command line both serve models through it.
/// </summary>
public sealed class ServedModel : IDisposable
{
    private readonly LlamaModel _model;
    private readonly IInferenceBackend _backend;

    private readonly Lazy<Chat.ChatTemplate> _chatTemplate;

    private ServedModel(LlamaModel model, IInferenceBackend backend, InferenceEngine engine, string? chatTemplate)
    {
        _model = model;
        _backend = backend;
        Engine = engine;
        Adapters = new LoraAdapterStore(engine);
        _chatTemplate = new(() => Chat.ChatTemplate.Resolve(chatTemplate, model.Tokenizer.ChatTemplate), LazyThreadSafetyMode.PublicationOnly);
    }

    /// <summary>The engine (scheduler thread, model runner, output processor) serving this model.</summary>
    public InferenceEngine Engine { get; }

    /// <summary>The LoRA adapters served over this model.</summary>
    public LoraAdapterStore Adapters { get; }

    /// <summary>The template the Chat RPC renders with: the configured one, else the model's own.</summary>
    /// <exception cref="Chat.ChatTemplateException">Neither is a template Mesh renders; the message names <c>--chat-template</c>.</exception>
    public Chat.ChatTemplate ChatTemplate => _chatTemplate.Value;

    /// <summary>
    /// Where the host keeps the weights for <paramref name="device"/> (matched as <see cref="BackendFactory"/>
    /// does, ignoring case): <see cref="WeightMemory.Mapped"/> for <c>cuda</c>, and for <c>auto</c> when
    /// <paramref name="cudaUsable"/> (probed only then) says a GPU is usable; else <paramref name="configured"/>.
    /// </summary>
    /// <remarks>
    /// CUDA uploads the weights, so a host copy on huge pages would cost the model's size in private memory
    /// and its load time for nothing. Under <c>auto</c> the weight types that would keep the model on the
    /// CPU are known only once it is read, so such a model then decodes from the mapping (a few percent
    /// slower; <c>--device cpu</c> gets the huge pages).
    /// </remarks>
    internal static WeightMemory HostWeightMemory(string device, WeightMemory configured, Func<bool> cudaUsable) =>
        device.ToLowerInvariant() switch
        {
            "cuda" => WeightMemory.Mapped,
            "auto" when cudaUsable() => WeightMemory.Mapped,
            _ => configured,
        };

    /// <param name="options">The model's path, tokenizer, id and chat template.</param>
    /// <param name="device"><c>auto</c>, <c>cpu</c> or <c>cuda</c> (see <see cref="BackendFactory.Create"/>).</param>
    /// <param name="backendOptions">Threads and KV cache size.</param>
    /// <param name="engineOptions">Scheduler limits (running sequences, batched tokens, waiting queue, prefix caching).</param>
    /// <exception cref="InvalidOperationException">A misspelt chat template, or a device that cannot run the model.</exception>
    /// <exception cref="ModelFormatException">The model file is malformed or of an unsupported kind.</exception>
    /// <summary>Loads the model, creates its backend and starts its engine.</summary>
    /// <param name="logger">Loading messages (and the engine's, unless <paramref name="engineLogger"/> is given).</param>
    /// <param name="engineLogger">The engine's per-request lines and faults.</param>
    public static ServedModel Load(ModelOptions options, string device, BackendOptions backendOptions, EngineOptions engineOptions, ILogger logger, ILogger? engineLogger = null)
    {
        var started = Stopwatch.GetTimestamp();
        logger.LogInformation("Loading model {Path}", options.Path);
        // A misspelt --chat-template is a configuration error: refuse to start rather than fail every Chat.
        if (options.ChatTemplate is { Length: > 0 } configured && !Chat.ChatTemplate.TryParse(configured, out _, out var error))
        {
            throw new InvalidOperationException(error);
        }

        // Probed at most once: for where the weights live (auto) and again for the backend.
        var cuda = new Lazy<Mesh.Kernels.CudaAvailabilityResult>(() => Mesh.Kernels.CudaAvailability.Check());
        var memory = HostWeightMemory(device, backendOptions.WeightMemory, () => cuda.Value.IsUsable);
        var model = LlamaModel.Load(options.Path, options.Tokenizer, options.Id, logger, memory);
        IInferenceBackend? backend = null;
        try
        {
            backend = BackendFactory.Create(model, device, backendOptions, logger, () => cuda.Value);
            var served = new ServedModel(model, backend, new InferenceEngine(model, backend, engineOptions, engineLogger ?? logger), options.ChatTemplate);
            logger.LogInformation(
                "Loaded model {Model} ({Format}, {WeightType}, {Parameters} parameters, {Layers} layers, context {Context}) in {Elapsed} ms",
                model.Id, model.Format, model.WeightType, model.Weights.ParameterCount, model.Config.Layers, model.Config.ContextLength,
                (int)Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            return served;
        }
        catch
        {
            backend?.Dispose();
            model.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Stops the engine (ending its requests), then frees the backend's memory and the model's mapping.
    /// </summary>
    public void Dispose()
    {
        Engine.Dispose();
        _backend.Dispose();
        _model.Dispose();
    }
}
