using System.Diagnostics;
using System.Numerics.Tensors;
using Mesh.Inference.Backends;
using Mesh.Inference.Backends.Cpu;
using Mesh.Inference.Models;

namespace Mesh.Inference.Bench;

/// <summary>
/// Mesh's CPU backend driven directly: one batch for the prompt, then one token per step; with
/// <paramref name="perTokenAttention"/> on the attention loop before runs, and <paramref name="parallelism"/>
/// picks the worker team or the thread pool, <paramref name="memory"/> where the weights are kept (the
/// baselines of the A/B benchmarks).
/// </summary>
internal sealed class MeshSubject(string path, int threads, bool perTokenAttention = false, CpuParallelism parallelism = CpuParallelism.WorkerTeam, WeightMemory memory = WeightMemory.Auto) : ISpeedSubject
{
    private readonly LlamaModel _model = LlamaModel.Load(path, memory: memory);
    private CpuBackend? _backend;

    public LlamaModel Model => _model;

    public SpeedRun Run(IReadOnlyList<int> prompt, int decode)
    {
        var blocks = (prompt.Count + decode + 15) / 16;
        var backend = Backend(blocks);
        var table = Enumerable.Range(0, blocks).ToArray();
        var vocab = _model.Config.VocabSize;
        var logits = new float[vocab];
        var batch = new ForwardBatch();
        var seq = batch.AddSequence(table);
        for (var i = 0; i < prompt.Count; i++)
        {
            batch.AddToken(seq, prompt[i], i, wantLogits: i == prompt.Count - 1);
        }

        var clock = Stopwatch.StartNew();
        backend.Forward(batch, logits);
        var prefill = clock.Elapsed.TotalSeconds;
        var tokens = new List<int>();
        clock.Restart();
        for (var step = 0; step < decode; step++)
        {
            var next = TensorPrimitives.IndexOfMax(logits);
            tokens.Add(next);
            batch.Clear();
            seq = batch.AddSequence(table);
            batch.AddToken(seq, next, prompt.Count + step, wantLogits: true);
            backend.Forward(batch, logits);
        }

        var decodeSeconds = clock.Elapsed.TotalSeconds;
        return new SpeedRun(prompt.Count / prefill, decode / decodeSeconds, tokens);
    }

    public void Dispose()
    {
        _backend?.Dispose();
        _model.Dispose();
    }

    // One backend for all runs, as a served model keeps its backend (and its worker threads): each run
    // rewrites the KV slots it reads, so nothing carries over between runs but warm threads and memory.
    private CpuBackend Backend(int blocks)
    {
        if (_backend is null || _backend.KvGeometry.BlockCount < blocks)
        {
            _backend?.Dispose();
            _backend = new CpuBackend(_model.Config, _model.Weights, new BackendOptions { Threads = threads, KvBlockCount = blocks, PerTokenAttention = perTokenAttention, CpuParallelism = parallelism });
        }

        return _backend;
    }
}
