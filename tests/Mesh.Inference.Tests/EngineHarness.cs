using Mesh.Inference.Backends;
using Mesh.Inference.Backends.Cpu;
using Mesh.Inference.Engine;
using Mesh.Inference.Models;
using Mesh.Inference.Sampling;
using Mesh.Inference.Tests.Tokenization;

namespace Mesh.Inference.Tests;

/// <summary>A model on the CPU backend behind a real engine, for tests that drive the engine directly.</summary>
internal sealed class EngineHarness : IDisposable
{
    public EngineHarness(string modelPath, EngineOptions? engine = null, BackendOptions? backend = null, Microsoft.Extensions.Logging.ILogger? logger = null, BlockHasher? blockHasher = null)
    {
        Model = LlamaModel.Load(modelPath);
        Backend = new CpuBackend(Model.Config, Model.Weights, backend ?? new BackendOptions());
        Engine = new InferenceEngine(Model, Backend, engine ?? new EngineOptions(), logger, blockHasher);
    }

    public static string Stories260KBin => Path.Combine(Path.GetDirectoryName(TestModels.Stories260KGguf)!, "stories260K.bin");

    public LlamaModel Model { get; }

    public CpuBackend Backend { get; }

    public InferenceEngine Engine { get; }

    /// <summary>Runs a request to the end and returns its tokens, text and last chunk.</summary>
    public async Task<(List<int> Tokens, string Text, GenerationChunk Last)> RunAsync(GenerationRequest request, CancellationToken cancellation = default)
    {
        var tokens = new List<int>();
        var text = new System.Text.StringBuilder();
        GenerationChunk? last = null;
        await foreach (var chunk in Engine.Submit(request, cancellation).ReadAllAsync(CancellationToken.None))
        {
            tokens.AddRange(chunk.TokenIds);
            text.Append(chunk.Text);
            last = chunk;
        }

        return (tokens, text.ToString(), last!);
    }

    public static GenerationRequest Greedy(int[] prompt, int maxTokens) =>
        new(prompt, maxTokens, SamplingParameters.Greedy, [], IgnoreEos: true);

    public void Dispose()
    {
        Engine.Dispose();
        Backend.Dispose();
        Model.Dispose();
    }
}
