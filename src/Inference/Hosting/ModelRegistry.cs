using Mesh.Inference.Backends;
using Mesh.Inference.Engine;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Mesh.Inference.Hosting;

/// <summary>The models this process serves, each with its backend and scheduler, loaded at start-up.</summary>
public sealed class ModelRegistry : IDisposable
{
    private readonly Dictionary<string, ServedModel> _models = new(StringComparer.Ordinal);

    /// <summary>
    /// Loads every configured model (<see cref="ServedModel.Load"/>) in order; throws
    /// <see cref="InvalidOperationException"/> for an entry without a path or two models with one id, and
    /// whatever loading throws, so a bad model stops the host at start.
    /// </summary>
    public ModelRegistry(IOptions<InferenceOptions> options, ILogger<ModelRegistry> logger, ILoggerFactory loggers)
    {
        var o = options.Value;
        var backendOptions = new BackendOptions
        {
            Threads = o.Threads,
            CpuParallelism = o.CpuParallelism,
            KvBlockCount = o.KvBlocks,
            KvCacheBytes = (long)o.KvCacheMb << 20,
            WeightMemory = o.WeightMemory,
        };
        foreach (var m in o.Models)
        {
            if (string.IsNullOrWhiteSpace(m.Path))
            {
                throw new InvalidOperationException("Inference:Models entry without a Path: set --Inference:Models:N:Path (or serve --model PATH)");
            }

            var served = ServedModel.Load(Resolve(m, o.Offline, logger), o.Device, backendOptions, o.Engine, logger, loggers.CreateLogger<InferenceEngine>());
            if (!_models.TryAdd(served.Engine.Model.Id, served))
            {
                var id = served.Engine.Model.Id;
                served.Dispose();
                throw new InvalidOperationException($"two models have the id '{id}': give them distinct Inference:Models:N:Id values");
            }
        }

        if (_models.Count == 0)
        {
            logger.LogWarning("No model configured: set --Inference:Models:0:Path (or serve --model PATH)");
        }
    }

    /// <summary>
    /// The model options with a reference's <c>Path</c> replaced by its file in the cache (pulled when
    /// missing: start-up waits for it) and its id defaulted to the model's name.
    /// </summary>
    internal static ModelOptions Resolve(ModelOptions model, bool offline, ILogger logger)
    {
        if (!ModelCache.ModelReference.IsRemote(model.Path))
        {
            return model;
        }

        var cache = ModelCache.ModelCacheOptions.FromEnvironment();
        cache.Offline |= offline;
        var (path, id) = ModelCache.ModelSource.ResolveAsync(model.Path, cache, logger, CancellationToken.None).GetAwaiter().GetResult();
        return new ModelOptions { Id = model.Id ?? id, Path = path, Tokenizer = model.Tokenizer, ChatTemplate = model.ChatTemplate };
    }

    /// <summary>The loaded models' engines, one per model.</summary>
    public IEnumerable<InferenceEngine> Engines => _models.Values.Select(m => m.Engine);

    /// <summary>The engine of the model whose id is <paramref name="id"/> (ordinal comparison), or false.</summary>
    public bool TryGet(string id, out InferenceEngine engine)
    {
        var found = _models.TryGetValue(id, out var served);
        engine = served?.Engine!;
        return found;
    }

    /// <summary>The LoRA adapters of loaded model <paramref name="id"/>, or false for an unknown model.</summary>
    public bool TryGetAdapters(string id, out LoraAdapterStore adapters)
    {
        var found = _models.TryGetValue(id, out var served);
        adapters = served?.Adapters!;
        return found;
    }

    /// <summary>The chat template of loaded model <paramref name="id"/>.</summary>
    /// <exception cref="Chat.ChatTemplateException">The model has no template Mesh renders.</exception>
    public Chat.ChatTemplate ChatTemplateOf(string id) => _models[id].ChatTemplate;

    /// <summary>Disposes every served model.</summary>
    public void Dispose()
    {
        foreach (var served in _models.Values)
        {
            served.Dispose();
        }

        _models.Clear();
    }
}
