using Grpc.Core;
using Mesh.Inference.Admin.V1;
using Mesh.Inference.Chat;
using Mesh.Inference.Hosting;
using Mesh.Inference.Models.Lora;
using Mesh.Inference.Training;
using Mesh.ServiceDefaults.Errors;

namespace Mesh.Inference.Services;

/// <summary>
/// The tuning job RPCs (OpenAI's fine-tuning jobs shape: create, get, cancel, and a stream of progress):
/// the request is checked and its data tokenized before the job is queued, so bad input is INVALID_ARGUMENT
/// naming the field, line or option; the job runs on <see cref="TuningJobs"/>, one at a time per replica
/// (RESOURCE_EXHAUSTED for a second), and on success serves the adapter under its name.
/// </summary>
public sealed partial class InferenceAdminGrpcService
{
    /// <summary>
    /// Checks the request and queues the job. NOT_FOUND for an unknown model or a missing data file;
    /// INVALID_ARGUMENT for a bad adapter name, a path outside the adapter directory, not exactly one of
    /// a file or inline data, a bad line (file and line named) or a bad hyperparameter (named);
    /// FAILED_PRECONDITION without an adapter directory, on a backend without adapters, or for a model
    /// without a chat template; RESOURCE_EXHAUSTED while another job is queued or running here.
    /// </summary>
    public override Task<TuningJob> CreateTuningJob(CreateTuningJobRequest request, ServerCallContext context)
    {
        var store = Store(request.Model);
        models.TryGet(request.Model, out var engine);
        var root = AdapterDirectory("tuning");
        GenerateRequestValidator.Require(LoraAdapterStore.IsValidName(request.Adapter), $"adapter '{request.Adapter}' is invalid: use 1-64 letters, digits, '.', '_' or '-'");
        if (!engine.Backend.SupportsLoraAdapters)
        {
            throw new ServiceException(StatusCode.FailedPrecondition, $"the {engine.Backend.Name} backend does not apply LoRA adapters; serve model '{request.Model}' with --device cpu to tune and serve adapters");
        }

        var options = Hyperparameters(request.Hyperparameters ?? new TuningHyperparameters(), engine.Model.Config);
        var (train, heldOut) = Datasets(request, root);
        try
        {
            var spec = new TuningJobSpec(engine.Model, store, request.Adapter, Path.Combine(root, request.Adapter + ".gguf"), train, heldOut, options);
            return Task.FromResult(tuningJobs.Start(spec).Queued);
        }
        catch (InvalidOperationException e)
        {
            throw ServiceException.ResourceExhausted(e.Message);
        }
    }

    /// <summary>The tokenized training and held-out sets of <paramref name="request"/>.</summary>
    private (IReadOnlyList<TrainingExample> Train, IReadOnlyList<TrainingExample> HeldOut) Datasets(CreateTuningJobRequest request, string root)
    {
        models.TryGet(request.Model, out var engine);
        try
        {
            var template = models.ChatTemplateOf(request.Model);
            var model = engine.Model;
            GenerateRequestValidator.Require(request.TrainingFile.Length > 0 != request.TrainingData.Length > 0, "give exactly one of training_file (JSON Lines inside the adapter directory) and training_data (JSON Lines inline)");
            GenerateRequestValidator.Require(request.ValidationFile.Length == 0 || request.ValidationData.Length == 0, "give at most one of validation_file and validation_data");
            IReadOnlyList<TrainingExample> Read(string file, string data, string set) => file.Length > 0
                ? ChatDataset.Read(InAdapterDirectory(root, file, $"{set}_file"), model.Tokenizer, template, model.Config.ContextLength)
                : data.Length > 0 ? ChatDataset.Parse(data, $"{set}_data", model.Tokenizer, template, model.Config.ContextLength) : [];
            var train = Read(request.TrainingFile, request.TrainingData, "training");
            var heldOut = Read(request.ValidationFile, request.ValidationData, "validation");
            return (train, heldOut);
        }
        catch (InvalidDataException e)
        {
            throw ServiceException.InvalidArgument(e.Message.Replace(root + Path.DirectorySeparatorChar, "", StringComparison.Ordinal));
        }
        catch (FileNotFoundException e)
        {
            throw ServiceException.NotFound(e.Message.Replace(root + Path.DirectorySeparatorChar, "", StringComparison.Ordinal));
        }
        catch (ChatTemplateException e)
        {
            throw new ServiceException(StatusCode.FailedPrecondition, $"model '{request.Model}' has no chat template to render the examples: {e.Message}");
        }
    }

    /// <summary>The job's status and progress; NOT_FOUND for an unknown id.</summary>
    public override Task<TuningJob> GetTuningJob(GetTuningJobRequest request, ServerCallContext context) =>
        Task.FromResult(Job(request.Id).Snapshot().Job);

    /// <summary>Cancels a queued or running job and returns it (a finished one unchanged); NOT_FOUND for an unknown id.</summary>
    public override Task<TuningJob> CancelTuningJob(CancelTuningJobRequest request, ServerCallContext context)
    {
        var job = Job(request.Id);
        TuningJobs.Cancel(job);
        return Task.FromResult(job.Snapshot().Job);
    }

    /// <summary>The job now and after every change until it finishes (or the call is cancelled); NOT_FOUND for an unknown id.</summary>
    public override async Task WatchTuningJob(GetTuningJobRequest request, IServerStreamWriter<TuningJob> responseStream, ServerCallContext context)
    {
        var job = Job(request.Id);
        while (true)
        {
            var (snapshot, changed) = job.Snapshot();
            await responseStream.WriteAsync(snapshot, context.CancellationToken);
            if (TuningJobState.IsTerminal(snapshot.Status))
            {
                return;
            }

            await changed.WaitAsync(context.CancellationToken);
        }
    }

    private TuningJobState Job(string id) =>
        tuningJobs.TryGet(id, out var job) ? job : throw ServiceException.NotFound($"no tuning job '{id}' on this replica (it keeps the last {TuningJobs.MaxJobs})");

    /// <summary>The request's hyperparameters over the defaults (0 or empty: default); INVALID_ARGUMENT naming a bad one.</summary>
    private static LoraTrainingOptions Hyperparameters(TuningHyperparameters h, Models.LlamaConfig config)
    {
        var defaults = new LoraTrainingOptions();
        try
        {
            var options = new LoraTrainingOptions
            {
                Rank = h.Rank != 0 ? h.Rank : defaults.Rank,
                Alpha = h.Alpha != 0 ? h.Alpha : defaults.Alpha,
                Targets = h.Targets.Count > 0 ? LoraTargetNames.Parse(h.Targets, "targets") : defaults.Targets,
                LearningRate = h.LearningRate != 0 ? h.LearningRate : defaults.LearningRate,
                Epochs = h.Epochs != 0 ? h.Epochs : defaults.Epochs,
                BatchSize = h.BatchSize != 0 ? h.BatchSize : defaults.BatchSize,
                WeightDecay = h.WeightDecay,
                Seed = h.Seed,
                Threads = h.Threads,
            };
            options.Validate();
            foreach (var target in options.Targets)
            {
                GenerateRequestValidator.Require(options.Rank <= LoraLayout.RankLimit(config, target), $"rank {options.Rank} is larger than the {target} projection allows ({LoraLayout.RankLimit(config, target)})");
            }

            return options;
        }
        catch (ArgumentException e)
        {
            // The messages name the CLI's options (--rank); the RPC's fields are hyperparameters.rank.
            var message = e.ParamName is { } name ? e.Message.Replace($" (Parameter '{name}')", "", StringComparison.Ordinal) : e.Message;
            throw ServiceException.InvalidArgument("hyperparameters." + message.TrimStart('-').Replace("batch-size", "batch_size").Replace("weight-decay", "weight_decay").Replace("lr ", "learning_rate "));
        }
    }
}
