using Mesh.Inference.Admin.V1;
using Mesh.Inference.Models;
using Mesh.Inference.Training;
using Microsoft.Extensions.Logging;

namespace Mesh.Inference.Hosting;

/// <summary>What a tuning job trains: checked by the RPC before the job starts.</summary>
/// <param name="Model">The served base model (its weights are dequantized by the job, not changed).</param>
/// <param name="Adapters">The model's adapter store the result is loaded into.</param>
/// <param name="Adapter">The adapter's name.</param>
/// <param name="OutputPath">Where the GGUF adapter is written (inside the adapter directory).</param>
/// <param name="Train">Tokenized training examples.</param>
/// <param name="HeldOut">Tokenized held-out examples (may be empty).</param>
/// <param name="Options">Validated hyperparameters.</param>
public sealed record TuningJobSpec(LlamaModel Model, LoraAdapterStore Adapters, string Adapter, string OutputPath,
    IReadOnlyList<TrainingExample> Train, IReadOnlyList<TrainingExample> HeldOut, LoraTrainingOptions Options);

/// <summary>
/// The tuning jobs of this replica: at most one queued or running at a time (training takes the CPU
/// cores it is given), each run on a dedicated thread by the same loop as the <c>tune</c> command
/// (<see cref="LoraTuning.Run"/>); on success the adapter is written atomically (a temporary file
/// moved over <see cref="TuningJobSpec.OutputPath"/>) and loaded for serving. The last
/// <see cref="MaxJobs"/> jobs are kept for <c>GetTuningJob</c>, and with an adapter directory they are
/// kept on disk as well (<see cref="TuningJobRecords"/>: queued, running and finished), so they outlive a
/// restart. Disposing cancels the running job and waits for it.
/// </summary>
public sealed class TuningJobs : IDisposable
{
    /// <summary>Jobs remembered (the oldest finished ones are forgotten first).</summary>
    public const int MaxJobs = 32;

    /// <summary>The records' folder inside the adapter directory.</summary>
    public const string RecordsFolder = ".tuning-jobs";

    private readonly Lock _lock = new();
    private readonly List<TuningJobState> _jobs = [];
    private readonly ILogger<TuningJobs> _logger;
    private readonly TuningJobRecords? _records;
    private (TuningJobState Job, Task Run)? _active;

    /// <summary>Reads back the jobs recorded in the adapter directory of <paramref name="options"/>, if it has one.</summary>
    public TuningJobs(ILogger<TuningJobs> logger, Microsoft.Extensions.Options.IOptions<InferenceOptions> options)
    {
        _logger = logger;
        if (string.IsNullOrEmpty(options.Value.AdapterDirectory))
        {
            return;
        }

        _records = new TuningJobRecords(Path.Combine(Path.GetFullPath(options.Value.AdapterDirectory), RecordsFolder), logger);
        var recorded = _records.Load();
        foreach (var record in recorded.Skip(Math.Max(0, recorded.Count - MaxJobs)))
        {
            var job = new TuningJobState(record);
            _jobs.Add(job);
            if (record.Status != job.Snapshot().Job.Status)
            {
                Persist(job);
            }
        }

        foreach (var forgotten in recorded.Take(Math.Max(0, recorded.Count - MaxJobs)))
        {
            _records.Delete(forgotten.Id);
        }
    }

    /// <summary>Queues <paramref name="spec"/> and starts it on a thread of its own; returns the job and its state as queued.</summary>
    /// <exception cref="InvalidOperationException">A job is already queued or running here (the message names it).</exception>
    public (TuningJobState Job, TuningJob Queued) Start(TuningJobSpec spec)
    {
        lock (_lock)
        {
            if (_active is { } active && !active.Job.IsFinished)
            {
                throw new InvalidOperationException($"tuning job {active.Job.Id} is still running on this replica (one at a time): wait for it to finish or cancel it");
            }

            var steps = (spec.Train.Count + spec.Options.BatchSize - 1) / spec.Options.BatchSize;
            var job = new TuningJobState(spec.Model.Id, spec.Adapter, spec.Options.Epochs, steps, spec.Train.Count);
            _jobs.Add(job);
            while (_jobs.Count > MaxJobs && _jobs.FindIndex(j => j.IsFinished) is var oldest and >= 0)
            {
                _records?.Delete(_jobs[oldest].Id);
                _jobs.RemoveAt(oldest);
            }

            Persist(job);
            var queued = job.Snapshot().Job;
            _active = (job, Task.Factory.StartNew(() => Run(job, spec), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default));
            return (job, queued);
        }
    }

    /// <summary>The job with <paramref name="id"/>, or false when this replica has none (or forgot it).</summary>
    public bool TryGet(string id, out TuningJobState job)
    {
        lock (_lock)
        {
            job = _jobs.Find(j => j.Id == id)!;
            return job is not null;
        }
    }

    /// <summary>Asks <paramref name="job"/> to stop; it becomes cancelled before its next step (or at once when queued).</summary>
    public static void Cancel(TuningJobState job)
    {
        job.Cancellation.Cancel();
    }

    private void Run(TuningJobState job, TuningJobSpec spec)
    {
        var cancellation = job.Cancellation.Token;
        var temporary = spec.OutputPath + $".{job.Id}.tmp";
        try
        {
            cancellation.ThrowIfCancellationRequested();
            job.Running();
            Persist(job);
            var trainer = new LoraTrainer(spec.Model, spec.Options);
            LoraTuning.Run(trainer, spec.Options.Epochs, spec.Train, spec.HeldOut, job, cancellation);
            cancellation.ThrowIfCancellationRequested();
            trainer.Save(temporary, spec.Adapter);
            File.Move(temporary, spec.OutputPath, overwrite: true);
            spec.Adapters.Load(spec.Adapter, spec.OutputPath);
            job.Finish(TuningJobStatus.Succeeded);
            _logger.LogInformation("Tuning job {Job} wrote adapter {Adapter} over model {Model}", job.Id, spec.Adapter, spec.Model.Id);
        }
        catch (OperationCanceledException) when (cancellation.IsCancellationRequested)
        {
            job.Finish(TuningJobStatus.Cancelled);
        }
        catch (Exception e)
        {
            // A job's failure is reported on the job; it never ends the process.
            _logger.LogWarning(e, "Tuning job {Job} failed", job.Id);
            job.Finish(TuningJobStatus.Failed, e.Message);
        }
        finally
        {
            File.Delete(temporary);
            Persist(job);
        }
    }

    /// <summary>Writes <paramref name="job"/>'s record; a failed write is logged, never fails the job or the RPC.</summary>
    private void Persist(TuningJobState job)
    {
        try
        {
            _records?.Save(job.Snapshot().Job);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            _logger.LogWarning("Could not record tuning job {Job} in {Folder}: {Reason}", job.Id, _records!.Directory, e.Message);
        }
    }

    /// <summary>Cancels the running job and waits for its thread (it stops before its next step).</summary>
    public void Dispose()
    {
        Task? run;
        lock (_lock)
        {
            run = _active?.Run;
            _active?.Job.Cancellation.Cancel();
        }

        run?.Wait(TimeSpan.FromSeconds(30));
    }
}
