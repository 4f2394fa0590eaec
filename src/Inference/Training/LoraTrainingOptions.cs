using Mesh.Inference.Models.Lora;

namespace Mesh.Inference.Training;

/// <summary>
/// Hyperparameters of a LoRA fine-tuning run (the names and defaults of PEFT's <c>LoraConfig</c> and
/// Hugging Face's <c>TrainingArguments</c> where they have one): the update of each target projection
/// is ΔW = (alpha / rank) · B·A with A [rank, in] initialised U(±1/√in) and B [out, rank] zero (PEFT's
/// initialisation), optimised with AdamW (Loshchilov and Hutter 2019) on the mean cross-entropy of the
/// answer tokens.
/// </summary>
public sealed record LoraTrainingOptions
{
    /// <summary>r, the rank of each update (1 to 1024 and each projection's smaller side).</summary>
    public int Rank { get; init; } = 8;

    /// <summary>lora_alpha; the update is scaled by alpha / rank. Must be positive.</summary>
    public float Alpha { get; init; } = 16;

    /// <summary>The projections to adapt in every block (default: all seven).</summary>
    public IReadOnlyList<LoraTarget> Targets { get; init; } = Enum.GetValues<LoraTarget>();

    /// <summary>AdamW's step size (constant over the run).</summary>
    public float LearningRate { get; init; } = 2e-3f;

    /// <summary>Passes over the training set.</summary>
    public int Epochs { get; init; } = 1;

    /// <summary>Examples per optimizer step; the loss is the mean over all their answer tokens.</summary>
    public int BatchSize { get; init; } = 8;

    /// <summary>AdamW's decoupled weight decay (applied to A and B), 0 by default as in TrainingArguments.</summary>
    public float WeightDecay { get; init; }

    /// <summary>The global gradient norm is clipped to this (TrainingArguments' max_grad_norm); 0 turns clipping off.</summary>
    public float MaxGradNorm { get; init; } = 1f;

    /// <summary>Seeds the initialisation of A and the order of examples in each epoch.</summary>
    public int Seed { get; init; }

    /// <summary>Worker threads (0: all cores). Results are deterministic for a given thread count.</summary>
    public int Threads { get; init; }

    /// <summary>The scale applied to B·A.</summary>
    public float Scale => Alpha / Rank;

    /// <summary>Worker threads resolved.</summary>
    public int ResolvedThreads => Threads > 0 ? Threads : Environment.ProcessorCount;

    /// <summary>Checks every value; the <see cref="ArgumentException"/> names the option and its range.</summary>
    public void Validate()
    {
        Check(Rank is >= 1 and <= LoraLayout.MaxRank, "rank", $"must be 1 to {LoraLayout.MaxRank} (got {Rank})");
        Check(float.IsFinite(Alpha) && Alpha > 0, "alpha", $"must be a positive number (got {Alpha})");
        Check(Targets.Count > 0 && Targets.Distinct().Count() == Targets.Count && Targets.All(Enum.IsDefined), "targets", "must name each projection at most once, at least one");
        Check(float.IsFinite(LearningRate) && LearningRate > 0 && LearningRate < 1, "lr", $"must be in (0, 1) (got {LearningRate})");
        Check(Epochs is >= 1 and <= 10_000, "epochs", $"must be 1 to 10000 (got {Epochs})");
        Check(BatchSize is >= 1 and <= 4096, "batch-size", $"must be 1 to 4096 (got {BatchSize})");
        Check(float.IsFinite(WeightDecay) && WeightDecay >= 0 && WeightDecay < 1, "weight-decay", $"must be in [0, 1) (got {WeightDecay})");
        Check(float.IsFinite(MaxGradNorm) && MaxGradNorm >= 0, "max-grad-norm", $"must be 0 (off) or positive (got {MaxGradNorm})");
        Check(Threads is >= 0 and <= 1024, "threads", $"must be 0 (all cores) to 1024 (got {Threads})");
    }

    private static void Check(bool ok, string option, string message)
    {
        if (!ok)
        {
            throw new ArgumentException($"--{option} {message}", option);
        }
    }
}
