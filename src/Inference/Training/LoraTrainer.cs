using System.Diagnostics;
using Mesh.Inference.Backends.Cpu;
using Mesh.Inference.Models;
using Mesh.Inference.Models.Lora;

namespace Mesh.Inference.Training;

/// <summary>Reported after each optimizer step.</summary>
/// <param name="Epoch">1-based epoch.</param>
/// <param name="Step">1-based step within the epoch.</param>
/// <param name="Steps">Steps per epoch.</param>
/// <param name="Loss">Mean NLL (nats) per answer token of the step's batch, before its update.</param>
/// <param name="TokensPerSecond">Tokens (prompt and answer) through forward and backward per second in this step.</param>
public sealed record TrainingProgress(int Epoch, int Step, int Steps, double Loss, double TokensPerSecond);

/// <summary>One epoch's totals.</summary>
/// <param name="Epoch">1-based epoch.</param>
/// <param name="Loss">Mean NLL per answer token over the epoch's batches (each before its update).</param>
/// <param name="Duration">Wall time of the epoch.</param>
/// <param name="Tokens">Tokens processed.</param>
/// <param name="PeakWorkingSetBytes">The process's peak resident memory so far.</param>
public sealed record EpochSummary(int Epoch, double Loss, TimeSpan Duration, long Tokens, long PeakWorkingSetBytes);

/// <summary>
/// Trains a LoRA adapter over a frozen Llama-family model on the CPU: mini-batches of
/// <see cref="TrainingExample"/>s, the mean cross-entropy of their answer tokens, gradients by Mesh's
/// own backward pass (<see cref="TrainingPass"/>) for the LoRA factors only, global-norm clipping and
/// <see cref="AdamW"/>. The examples of a batch are split over worker threads in a fixed assignment and
/// their gradients summed in worker order, so a run is deterministic for a given thread count.
/// </summary>
public sealed class LoraTrainer
{
    private readonly FrozenLlama _model;
    private readonly LoraTrainingOptions _options;
    private readonly TrainingPass[] _passes;
    private readonly LoraGradients[] _gradients;
    private readonly AdamW _optimizer;

    /// <summary>Dequantizes <paramref name="model"/> (it may be disposed afterwards) and initialises the factors.</summary>
    /// <exception cref="ArgumentException">An option out of range (the message names it).</exception>
    /// <exception cref="NotSupportedException">The model's blocks have parts the backward pass does not cover (qwen3's Q/K norms).</exception>
    public LoraTrainer(LlamaModel model, LoraTrainingOptions options)
        : this(FrozenLlama.From(model), options)
    {
    }

    internal LoraTrainer(FrozenLlama model, LoraTrainingOptions options)
    {
        options.Validate();
        (_model, _options) = (model, options);
        Lora = new TrainableLora(model.Config, options.Rank, options.Scale, options.Targets, options.Seed);
        var rope = new CpuRope(model.Config);
        var workers = Math.Max(1, Math.Min(options.ResolvedThreads, options.BatchSize));
        _passes = [.. Enumerable.Range(0, workers).Select(_ => new TrainingPass(model, Lora, rope))];
        _gradients = [.. Enumerable.Range(0, workers).Select(_ => new LoraGradients(Lora))];
        _optimizer = new AdamW(options.LearningRate, options.WeightDecay);
    }

    /// <summary>Trainable parameters.</summary>
    public long ParameterCount => Lora.ParameterCount;

    /// <summary>Bytes of the f32 copy of the base weights training reads.</summary>
    public long BaseWeightBytes => _model.Bytes;

    internal TrainableLora Lora { get; }

    /// <summary>Mean NLL (nats) per answer token of <paramref name="examples"/> with the current factors.</summary>
    public double Evaluate(IReadOnlyList<TrainingExample> examples)
    {
        var sums = new double[_passes.Length];
        Parallel.For(0, _passes.Length, new ParallelOptions { MaxDegreeOfParallelism = _passes.Length }, w =>
        {
            for (var i = w; i < examples.Count; i += _passes.Length)
            {
                sums[w] += _passes[w].Forward(examples[i]);
            }
        });
        return sums.Sum() / Math.Max(1, examples.Sum(e => e.LossTokens));
    }

    /// <summary>One pass over <paramref name="train"/> in a seeded order, one AdamW step per batch.</summary>
    public EpochSummary TrainEpoch(IReadOnlyList<TrainingExample> train, int epoch, IProgress<TrainingProgress>? progress = null, CancellationToken cancellation = default)
    {
        var order = Enumerable.Range(0, train.Count).ToArray();
        // HashCode.Combine is seeded per process, so the order's seed is formed by plain arithmetic.
        new Random(unchecked((_options.Seed * 1_000_003) + epoch)).Shuffle(order);
        var steps = (train.Count + _options.BatchSize - 1) / _options.BatchSize;
        var epochClock = Stopwatch.StartNew();
        double lossSum = 0;
        long lossTokens = 0, tokens = 0;
        for (var step = 0; step < steps; step++)
        {
            cancellation.ThrowIfCancellationRequested();
            var batch = order.Skip(step * _options.BatchSize).Take(_options.BatchSize).Select(i => train[i]).ToArray();
            var clock = Stopwatch.StartNew();
            var (nll, count) = Step(batch);
            var batchTokens = batch.Sum(e => (long)e.Tokens.Length);
            (lossSum, lossTokens, tokens) = (lossSum + nll, lossTokens + count, tokens + batchTokens);
            progress?.Report(new TrainingProgress(epoch, step + 1, steps, nll / Math.Max(1, count), batchTokens / Math.Max(1e-9, clock.Elapsed.TotalSeconds)));
        }

        return new EpochSummary(epoch, lossSum / Math.Max(1, lossTokens), epochClock.Elapsed, tokens, Process.GetCurrentProcess().PeakWorkingSet64);
    }

    /// <summary>The current factors as a servable adapter named <paramref name="name"/>.</summary>
    public LoraAdapter ToAdapter(string name) => Lora.ToAdapter(name, _model.Config);

    /// <summary>
    /// Writes the factors as llama.cpp's GGUF adapter at <paramref name="path"/>. A <c>llama</c> model read
    /// from a Hugging Face directory (NeoX Q/K rows) gets its Q/K B rows permuted to llama.cpp's layout,
    /// so the file serves over the model's GGUF conversion as llama.cpp's converter would make it.
    /// </summary>
    public void Save(string path, string name)
    {
        var c = _model.Config;
        var adapter = Lora.ToAdapter(name, c, toAdjacentRope: c.Architecture == "llama" && c.RopeStyle == RopeStyle.Neox);
        LoraAdapterFile.WriteGguf(adapter, c.Architecture, path);
    }

    /// <summary>Loss and gradients of <paramref name="batch"/> summed over its answer tokens, into the first worker's gradients (no update).</summary>
    internal (double Nll, int Tokens) Gradient(IReadOnlyList<TrainingExample> batch)
    {
        var count = batch.Sum(e => e.LossTokens);
        var scale = 1f / Math.Max(1, count);
        var sums = new double[_passes.Length];
        Parallel.For(0, _passes.Length, new ParallelOptions { MaxDegreeOfParallelism = _passes.Length }, w =>
        {
            _gradients[w].Clear();
            for (var i = w; i < batch.Count; i += _passes.Length)
            {
                sums[w] += _passes[w].Forward(batch[i], scale);
                _passes[w].Backward(batch[i], _gradients[w]);
            }
        });
        for (var w = 1; w < _gradients.Length; w++)
        {
            _gradients[0].Add(_gradients[w]);
        }

        return (sums.Sum(), count);
    }

    /// <summary>The summed gradient of the last <see cref="Gradient"/> call.</summary>
    internal LoraGradients LastGradient => _gradients[0];

    private (double Nll, int Tokens) Step(IReadOnlyList<TrainingExample> batch)
    {
        var (nll, count) = Gradient(batch);
        var gradients = _gradients[0];
        double norm = 0;
        foreach (var g in gradients.A.Concat(gradients.B))
        {
            norm += System.Numerics.Tensors.TensorPrimitives.SumOfSquares(g);
        }

        norm = Math.Sqrt(norm);
        var clip = _options.MaxGradNorm > 0 && norm > _options.MaxGradNorm ? (float)(_options.MaxGradNorm / norm) : 1f;
        _optimizer.BeginStep();
        foreach (var slot in Lora.Slots)
        {
            _optimizer.Update(slot.A, gradients.A[slot.Index], clip);
            _optimizer.Update(slot.B, gradients.B[slot.Index], clip);
        }

        return (nll, count);
    }
}
