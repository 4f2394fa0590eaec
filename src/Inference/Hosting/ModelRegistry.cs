using System.Diagnostics;
using Mesh.Inference.Backends;
using Mesh.Inference.Engine;
using Mesh.Inference.Models;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Mesh.Inference.Hosting;

/// <summary>The models this process serves, each with its backend and scheduler, loaded at start-up.</summary>
public sealed class ModelRegistry : IDisposable
{
    private readonly Dictionary<string, InferenceEngine> _engines = new(StringComparer.Ordinal);

    public ModelRegistry(IOptions<InferenceOptions> options, ILogger<ModelRegistry> logger)
    {
        var o = options.Value;
        foreach (var m in o.Models)
        {
            if (string.IsNullOrWhiteSpace(m.Path))
            {
                throw new InvalidOperationException("Inference:Models entry without a Path: set --Inference:Models:N:Path (or serve --model PATH)");
            }

            var started = Stopwatch.GetTimestamp();
            logger.LogInformation("Loading model {Path}", m.Path);
            var model = LlamaModel.Load(m.Path, m.Tokenizer, m.Id);
            if (_engines.ContainsKey(model.Id))
            {
                model.Dispose();
                throw new InvalidOperationException($"two models have the id '{model.Id}': give them distinct Inference:Models:N:Id values");
            }

            var backendOptions = new BackendOptions
            {
                Threads = o.Threads,
                KvBlockCount = o.KvBlocks,
                KvCacheBytes = (long)o.KvCacheMb << 20,
            };
            var backend = BackendFactory.Create(model, o.Device, backendOptions, logger);
            _engines[model.Id] = new InferenceEngine(model, backend, o.Engine, logger);
            logger.LogInformation(
                "Loaded model {Model} ({Format}, {WeightType}, {Parameters} parameters, {Layers} layers, context {Context}) in {Elapsed} ms",
                model.Id, model.Format, model.WeightType, model.Weights.ParameterCount, model.Config.Layers, model.Config.ContextLength,
                (int)Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        }

        if (_engines.Count == 0)
        {
            logger.LogWarning("No model configured: set --Inference:Models:0:Path (or serve --model PATH)");
        }
    }

    public IReadOnlyCollection<InferenceEngine> Engines => _engines.Values;

    public bool TryGet(string id, out InferenceEngine engine) => _engines.TryGetValue(id, out engine!);

    public void Dispose()
    {
        foreach (var engine in _engines.Values)
        {
            engine.Dispose();
            engine.Backend.Dispose();
            engine.Model.Dispose();
        }

        _engines.Clear();
    }
}
