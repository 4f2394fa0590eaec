using Microsoft.Extensions.Options;

namespace Mesh.Inference.Hosting;

/// <summary>
/// Refuses, at start, Inference settings that would fail later, naming each setting and what it
/// must be. Model files themselves are checked when <see cref="ModelRegistry"/> loads them.
/// </summary>
public sealed class InferenceOptionsValidator : IValidateOptions<InferenceOptions>
{
    /// <summary>
    /// Every invalid setting at once, each naming its key (e.g. <c>Inference:Device</c>) and the allowed values.
    /// </summary>
    public ValidateOptionsResult Validate(string? name, InferenceOptions options)
    {
        const string at = InferenceOptions.SectionName;
        var errors = new List<string>();
        if (options.Device is not ("auto" or "cpu" or "cuda"))
        {
            errors.Add($"{at}:Device must be auto, cpu or cuda (got '{options.Device}').");
        }

        if (options.Threads < 0)
        {
            errors.Add($"{at}:Threads must be >= 0, 0 meaning every core (got {options.Threads}).");
        }

        // Configuration binding takes any integer for an enum ("--Inference:WeightMemory=7"), which would
        // otherwise be served as if it were a value.
        if (!Enum.IsDefined(options.WeightMemory))
        {
            errors.Add($"{at}:WeightMemory must be Auto, HugePages or Mapped (got '{options.WeightMemory}').");
        }

        if (!Enum.IsDefined(options.CpuParallelism))
        {
            errors.Add($"{at}:CpuParallelism must be WorkerTeam or ThreadPool (got '{options.CpuParallelism}').");
        }

        if (options.KvCacheMb <= 0)
        {
            errors.Add($"{at}:KvCacheMb must be > 0 (got {options.KvCacheMb}).");
        }

        if (options.KvBlocks < 0)
        {
            errors.Add($"{at}:KvBlocks must be >= 0, 0 meaning sized by KvCacheMb (got {options.KvBlocks}).");
        }

        var engine = options.Engine;
        if (engine.MaxRunningSequences < 1 || engine.MaxBatchedTokens < 1 || engine.MaxWaitingRequests < 0)
        {
            errors.Add($"{at}:Engine: MaxRunningSequences and MaxBatchedTokens must be >= 1 and MaxWaitingRequests >= 0 " +
                $"(got {engine.MaxRunningSequences}, {engine.MaxBatchedTokens}, {engine.MaxWaitingRequests}).");
        }

        if (engine.NumSpeculativeTokens is < 0 or > Engine.EngineOptions.MaxSpeculativeTokens
            || engine.PromptLookupMin < 1 || engine.PromptLookupMax < engine.PromptLookupMin)
        {
            errors.Add($"{at}:Engine: NumSpeculativeTokens must be 0 (off) to {Engine.EngineOptions.MaxSpeculativeTokens} and " +
                $"1 <= PromptLookupMin <= PromptLookupMax (got {engine.NumSpeculativeTokens}, {engine.PromptLookupMin}, {engine.PromptLookupMax}).");
        }

        for (var i = 0; i < options.Models.Count; i++)
        {
            if (string.IsNullOrWhiteSpace(options.Models[i].Path))
            {
                errors.Add($"{at}:Models:{i}:Path is required (a GGUF file or a llama2.c checkpoint).");
            }
        }

        var ids = options.Models.Select(m => m.Id ?? Path.GetFileNameWithoutExtension(m.Path));
        errors.AddRange(ids.GroupBy(id => id, StringComparer.Ordinal).Where(g => g.Count() > 1)
            .Select(g => $"{at}:Models: the id '{g.Key}' is used by {g.Count()} models; give each an Id of its own."));
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
