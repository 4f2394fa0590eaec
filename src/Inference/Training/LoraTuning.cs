namespace Mesh.Inference.Training;

/// <summary>What a tuning run reports as it goes; every method is called on the training thread, in order.</summary>
public interface ITuningObserver
{
    /// <summary>The held-out loss before the first step (only with a held-out set).</summary>
    void HeldOutBefore(double loss)
    {
    }

    /// <summary>After each optimizer step.</summary>
    void Step(TrainingProgress progress)
    {
    }

    /// <summary>After each epoch, with the held-out loss then (null without a held-out set).</summary>
    void Epoch(EpochSummary summary, double? heldOutLoss)
    {
    }
}

/// <summary>A finished run.</summary>
/// <param name="HeldOutLossBefore">Mean NLL per answer token of the held-out set before training (null without one).</param>
/// <param name="HeldOutLossAfter">The same after the last epoch.</param>
/// <param name="Epochs">Each epoch's totals and its held-out loss.</param>
public sealed record TuningResult(double? HeldOutLossBefore, double? HeldOutLossAfter, IReadOnlyList<(EpochSummary Summary, double? HeldOutLoss)> Epochs)
{
    /// <summary>(before − after) / before, or null without a held-out set.</summary>
    public double? RelativeDrop => HeldOutLossBefore is { } b && HeldOutLossAfter is { } a ? (b - a) / b : null;
}

/// <summary>
/// The whole tuning loop shared by the <c>tune</c> command and the tuning job RPC: the held-out loss
/// before training, then <see cref="LoraTrainingOptions.Epochs"/> × (<see cref="LoraTrainer.TrainEpoch"/>,
/// held-out loss), as Hugging Face's Trainer evaluates once per epoch.
/// </summary>
public static class LoraTuning
{
    /// <summary>Runs every epoch; <paramref name="cancellation"/> is checked before each step (<see cref="OperationCanceledException"/>).</summary>
    public static TuningResult Run(LoraTrainer trainer, int epochs, IReadOnlyList<TrainingExample> train, IReadOnlyList<TrainingExample> heldOut, ITuningObserver observer, CancellationToken cancellation)
    {
        double? before = heldOut.Count > 0 ? trainer.Evaluate(heldOut) : null;
        if (before is { } b)
        {
            observer.HeldOutBefore(b);
        }

        var progress = new StepProgress(observer);
        var results = new List<(EpochSummary, double?)>();
        var after = before;
        for (var epoch = 1; epoch <= epochs; epoch++)
        {
            var summary = trainer.TrainEpoch(train, epoch, progress, cancellation);
            after = heldOut.Count > 0 ? trainer.Evaluate(heldOut) : null;
            results.Add((summary, after));
            observer.Epoch(summary, after);
        }

        return new TuningResult(before, after, results);
    }

    /// <summary>Reports on the training thread (Progress&lt;T&gt; would post to the thread pool, out of order).</summary>
    private sealed class StepProgress(ITuningObserver observer) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) => observer.Step(value);
    }
}
