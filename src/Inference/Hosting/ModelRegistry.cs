using Mesh.Inference.Backends;
using Mesh.Inference.Engine;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Mesh.Inference.Hosting;

/// <summary>The models this process serves, each with its backend and scheduler, loaded at start-up.</summary>
public sealed class ModelRegistry : IDisposable
{
    private readonly Dictionary<string, ServedModel> _models = new(StringComparer.Ordinal);

    public ModelRegistry(IOptions<InferenceOptions> options, ILogger<ModelRegistry> logger, ILoggerFactory loggers)
    {
        var o = options.Value;
        var backendOptions = new BackendOptions
        {
            Threads = o.Threads,
            KvBlockCount = o.KvBlocks,
            KvCacheBytes = (long)o.KvCacheMb << 20,
        };
        foreach (var m in o.Models)
        {
            if (string.IsNullOrWhiteSpace(m.Path))
            {
                throw new InvalidOperationException("Inference:Models entry without a Path: set --Inference:Models:N:Path (or serve --model PATH)");
            }

            var served = ServedModel.Load(m, o.Device, backendOptions, o.Engine, logger, loggers.CreateLogger<InferenceEngine>());
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

    public IEnumerable<InferenceEngine> Engines => _models.Values.Select(m => m.Engine);

    public bool TryGet(string id, out InferenceEngine engine)
    {
        var found = _models.TryGetValue(id, out var served);
        engine = served?.Engine!;
        return found;
    }

    /// <summary>The chat template of loaded model <paramref name="id"/>.</summary>
    /// <exception cref="Chat.ChatTemplateException">The model has no template Mesh renders.</exception>
    public Chat.ChatTemplate ChatTemplateOf(string id) => _models[id].ChatTemplate;

    public void Dispose()
    {
        foreach (var served in _models.Values)
        {
            served.Dispose();
        }

        _models.Clear();
    }
}
