using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Mesh.Inference.Chat;
using Mesh.Inference.Models;
using Mesh.Inference.Models.Lora;
using Mesh.Inference.Training;
using Microsoft.Extensions.Logging.Abstractions;

namespace Mesh.Inference.Cli;

/// <summary>
/// <c>tune</c>: trains a LoRA adapter on a JSON Lines chat dataset (<see cref="ChatDataset"/>) with
/// <see cref="LoraTrainer"/> and writes it as llama.cpp's GGUF adapter. Progress (step, loss, tokens/s,
/// each epoch's time and peak memory, held-out loss before and after) goes to stderr; one JSON summary
/// to stdout. Bad options or data end with exit code 2 and a message naming what to fix.
/// </summary>
internal static class TuneCommand
{
    public static Command Build(Option<string> model, Option<string?> tokenizer, Option<string?> chatTemplate, Option<int> threads)
    {
        var defaults = new LoraTrainingOptions();
        var data = new Option<string>("--data") { Description = "training set: JSON Lines of {\"messages\": [{\"role\", \"content\"}, …]} (loss on the assistant messages)", Required = true };
        var eval = new Option<string?>("--eval") { Description = "held-out set in the same format; its loss is printed before and after tuning and after each epoch" };
        var output = new Option<string>("--out") { Description = "where to write the GGUF adapter", Required = true };
        var rank = new Option<int>("--rank") { Description = "LoRA rank r", DefaultValueFactory = _ => defaults.Rank };
        var alpha = new Option<float>("--alpha") { Description = "lora_alpha (scale = alpha / rank)", DefaultValueFactory = _ => defaults.Alpha };
        var targets = new Option<string>("--targets") { Description = "projections to adapt, comma-separated: q,k,v,o,gate,up,down (or attn_q…/q_proj… names)", DefaultValueFactory = _ => "q,k,v,o,gate,up,down" };
        var lr = new Option<float>("--lr") { Description = "AdamW learning rate", DefaultValueFactory = _ => defaults.LearningRate };
        var epochs = new Option<int>("--epochs") { Description = "passes over the training set", DefaultValueFactory = _ => defaults.Epochs };
        var batch = new Option<int>("--batch-size") { Description = "examples per optimizer step", DefaultValueFactory = _ => defaults.BatchSize };
        var decay = new Option<float>("--weight-decay") { Description = "AdamW weight decay", DefaultValueFactory = _ => defaults.WeightDecay };
        var seed = new Option<int>("--seed") { Description = "seed of the initialisation and the example order", DefaultValueFactory = _ => defaults.Seed };
        var name = new Option<string>("--name") { Description = "the adapter's general.name", DefaultValueFactory = _ => "tuned" };
        var logEvery = new Option<int>("--log-every") { Description = "print a progress line every this many steps", DefaultValueFactory = _ => 10 };

        var tune = new Command("tune", "train a LoRA adapter on a chat dataset and write it as a GGUF adapter")
        {
            model, tokenizer, chatTemplate, threads, data, eval, output, rank, alpha, targets, lr, epochs, batch, decay, seed, name, logEvery, ModelCacheCommands.Offline,
        };
        tune.SetAction(async (result, cancellation) =>
        {
            try
            {
                var options = new LoraTrainingOptions
                {
                    Rank = result.GetValue(rank), Alpha = result.GetValue(alpha), Targets = ParseTargets(result.GetValue(targets)!),
                    LearningRate = result.GetValue(lr), Epochs = result.GetValue(epochs), BatchSize = result.GetValue(batch),
                    WeightDecay = result.GetValue(decay), Seed = result.GetValue(seed), Threads = result.GetValue(threads),
                };
                options.Validate();
                var path = result.GetValue(model) ?? throw new ArgumentException("--model is required");
                var (resolved, _) = await ModelCache.ModelSource.ResolveAsync(path, ModelCacheCommands.OptionsOf(result), NullLogger.Instance, cancellation);
                return Run(resolved, result.GetValue(tokenizer), result.GetValue(chatTemplate), result.GetValue(data)!, result.GetValue(eval), result.GetValue(output)!,
                    result.GetValue(name)!, Math.Max(1, result.GetValue(logEvery)), options, cancellation);
            }
            catch (Exception e) when (e is ArgumentException or InvalidDataException or FileNotFoundException or ModelFormatException or ChatTemplateException or NotSupportedException or ModelCache.ModelCacheException)
            {
                await Console.Error.WriteLineAsync($"error: {e.Message}");
                return 2;
            }
        });
        return tune;
    }

    private static int Run(string modelPath, string? tokenizerPath, string? chatTemplate, string dataPath, string? evalPath, string outPath, string name, int logEvery,
        LoraTrainingOptions options, CancellationToken cancellation)
    {
        LoraTrainer trainer;
        IReadOnlyList<TrainingExample> train, heldOut;
        using (var model = LlamaModel.Load(modelPath, tokenizerPath))
        {
            var template = ChatTemplate.Resolve(chatTemplate, model.Tokenizer.ChatTemplate);
            train = ChatDataset.Read(dataPath, model.Tokenizer, template, model.Config.ContextLength);
            heldOut = evalPath is null ? [] : ChatDataset.Read(evalPath, model.Tokenizer, template, model.Config.ContextLength);
            trainer = new LoraTrainer(model, options);
            Log($"model {model.Id} ({model.WeightType}), chat template {template.Name}; {train.Count} training examples ({train.Sum(e => e.Tokens.Length)} tokens, {train.Sum(e => e.LossTokens)} answer tokens), {heldOut.Count} held out");
            Log($"rank {options.Rank}, alpha {options.Alpha}, targets {string.Join(',', options.Targets)}, lr {options.LearningRate}, batch {options.BatchSize}, {options.ResolvedThreads} threads; {trainer.ParameterCount} trainable parameters; base weights {trainer.BaseWeightBytes / 1048576.0:F1} MiB f32");
        }

        var run = LoraTuning.Run(trainer, options.Epochs, train, heldOut, new LogObserver(logEvery), cancellation);
        var epochs = run.Epochs.Select(e => new
        {
            epoch = e.Summary.Epoch, train_loss = e.Summary.Loss, heldout_loss = e.HeldOutLoss, seconds = e.Summary.Duration.TotalSeconds,
            tokens = e.Summary.Tokens, peak_working_set_bytes = e.Summary.PeakWorkingSetBytes,
        }).ToList();
        trainer.Save(outPath, name);
        Log($"wrote {outPath}");
        Console.WriteLine(JsonSerializer.Serialize(new
        {
            adapter = outPath,
            parameters = trainer.ParameterCount,
            heldout_loss_before = run.HeldOutLossBefore,
            heldout_loss_after = run.HeldOutLossAfter,
            relative_drop = run.RelativeDrop,
            epochs,
        }));
        return 0;
    }

    private static LoraTarget[] ParseTargets(string text) =>
        LoraTargetNames.Parse(text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries), "--targets");

    private static void Log(string line) => Console.Error.WriteLine(line);

    /// <summary>The progress lines on stderr.</summary>
    private sealed class LogObserver(int logEvery) : ITuningObserver
    {
        public void HeldOutBefore(double loss) => Log($"held-out loss before: {loss:F4} (perplexity {Math.Exp(loss):F2})");

        public void Step(TrainingProgress p)
        {
            if (p.Step % logEvery == 0 || p.Step == p.Steps)
            {
                Log($"epoch {p.Epoch} step {p.Step}/{p.Steps} loss {p.Loss:F4} {p.TokensPerSecond:F0} tokens/s");
            }
        }

        public void Epoch(EpochSummary summary, double? heldOutLoss) =>
            Log($"epoch {summary.Epoch}: train loss {summary.Loss:F4}, held-out loss {(heldOutLoss is { } a ? a.ToString("F4", CultureInfo.InvariantCulture) : "-")}, {summary.Duration.TotalSeconds:F1} s, {summary.Tokens / summary.Duration.TotalSeconds:F0} tokens/s, peak memory {summary.PeakWorkingSetBytes / 1048576.0:F0} MiB");
    }
}
