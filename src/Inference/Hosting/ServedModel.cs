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

    private ServedModel(LlamaModel model, IInferenceBackend backend, InferenceEngine engine)
    {
        _model = model;
        _backend = backend;
        Engine = engine;
    }

    public InferenceEngine Engine { get; }

    /// <summary>Loads the model, creates its backend and starts its engine.</summary>
    /// <param name="logger">Loading messages (and the engine's, unless <paramref name="engineLogger"/> is given).</param>
    /// <param name="engineLogger">The engine's per-request lines and faults.</param>
    public static ServedModel Load(ModelOptions options, string device, BackendOptions backendOptions, EngineOptions engineOptions, ILogger logger, ILogger? engineLogger = null)
    {
        var started = Stopwatch.GetTimestamp();
        logger.LogInformation("Loading model {Path}", options.Path);
        var model = LlamaModel.Load(options.Path, options.Tokenizer, options.Id);
        IInferenceBackend? backend = null;
        try
        {
            backend = BackendFactory.Create(model, device, backendOptions, logger);
            var served = new ServedModel(model, backend, new InferenceEngine(model, backend, engineOptions, engineLogger ?? logger));
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

    public void Dispose()
    {
        Engine.Dispose();
        _backend.Dispose();
        _model.Dispose();
    }
}
