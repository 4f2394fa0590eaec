using Mesh.Inference.Admin.V1;
using Mesh.Inference.Training;

namespace Mesh.Inference.Hosting;

/// <summary>
/// One tuning job's status and progress as the admin RPCs report it (<see cref="TuningJob"/>), updated by
/// the training thread (as an <see cref="ITuningObserver"/>) and read by any number of RPCs: each change
/// completes the task <see cref="Snapshot"/> handed out, so watchers wake on every change. Thread-safe.
/// </summary>
public sealed class TuningJobState : ITuningObserver
{
    private readonly Lock _lock = new();
    private readonly TuningJob _job;
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    internal TuningJobState(string model, string adapter, int epochs, int steps, int examples)
    {
        _job = new TuningJob
        {
            Id = $"tune-{Guid.NewGuid():N}"[..29], Model = model, Adapter = adapter, Status = TuningJobStatus.Queued,
            Epochs = epochs, Steps = steps, TrainingExamples = examples, CreatedAt = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(),
        };
        Id = _job.Id;
    }

    /// <summary>
    /// A job read back from its record after a restart. One that was queued or running then is failed
    /// now: its training thread died with the process, and the adapter was not written.
    /// </summary>
    internal TuningJobState(TuningJob record)
    {
        _job = record.Clone();
        Id = _job.Id;
        if (!IsTerminal(_job.Status))
        {
            (_job.Error, _job.Status, _job.FinishedAt) = ($"the replica stopped while the job was {_job.Status.ToString().ToLowerInvariant()}; create the job again", TuningJobStatus.Failed, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        }
    }

    /// <summary>"tune-" and 24 hex digits.</summary>
    public string Id { get; }

    /// <summary>Cancelled by <c>CancelTuningJob</c> and at shutdown.</summary>
    internal CancellationTokenSource Cancellation { get; } = new();

    /// <summary>True once succeeded, failed or cancelled.</summary>
    public bool IsFinished
    {
        get
        {
            lock (_lock)
            {
                return IsTerminal(_job.Status);
            }
        }
    }

    /// <summary>A copy of the job now, and a task completed at its next change.</summary>
    public (TuningJob Job, Task Changed) Snapshot()
    {
        lock (_lock)
        {
            return (_job.Clone(), _changed.Task);
        }
    }

    /// <summary>True for succeeded, failed and cancelled.</summary>
    public static bool IsTerminal(TuningJobStatus status) => status is TuningJobStatus.Succeeded or TuningJobStatus.Failed or TuningJobStatus.Cancelled;

    void ITuningObserver.HeldOutBefore(double loss) => Update(j => j.ValidationLossBefore = loss);

    void ITuningObserver.Step(TrainingProgress progress) => Update(j =>
    {
        (j.Epoch, j.Step, j.Steps, j.Loss, j.TokensPerSecond) = (progress.Epoch, progress.Step, progress.Steps, progress.Loss, progress.TokensPerSecond);
    });

    void ITuningObserver.Epoch(EpochSummary summary, double? heldOutLoss) => Update(j =>
    {
        j.TrainedTokens += summary.Tokens;
        if (heldOutLoss is { } loss)
        {
            j.ValidationLoss = loss;
        }
    });

    internal void Running() => Update(j => j.Status = TuningJobStatus.Running);

    /// <summary>Moves to a final status once; later calls (a cancel after success) change nothing.</summary>
    internal void Finish(TuningJobStatus status, string error = "") => Update(j =>
    {
        if (!IsTerminal(j.Status))
        {
            (j.Status, j.Error, j.FinishedAt) = (status, error, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        }
    });

    private void Update(Action<TuningJob> change)
    {
        TaskCompletionSource changed;
        lock (_lock)
        {
            change(_job);
            changed = _changed;
            _changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        changed.TrySetResult();
    }
}
