using Microsoft.Extensions.Options;

namespace Mesh.Guard;

/// <summary>
/// Refuses, at start, Guard settings that would fail later, naming each setting and what it must be.
/// The policy file's content is checked when <see cref="Policies.PolicyStore"/> loads it.
/// </summary>
public sealed class GuardOptionsValidator : IValidateOptions<GuardOptions>
{
    /// <inheritdoc/>
    public ValidateOptionsResult Validate(string? name, GuardOptions options)
    {
        const string at = GuardOptions.SectionName;
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(options.PolicyFile))
        {
            errors.Add($"{at}:PolicyFile is required (a YAML or JSON policy file).");
        }

        if (options.MaxTextChars <= 0)
        {
            errors.Add($"{at}:MaxTextChars must be > 0 (got {options.MaxTextChars}).");
        }

        if (options.EmbeddingThreads < 1 || options.EmbeddingBatchSize < 1)
        {
            errors.Add($"{at}:EmbeddingThreads and {at}:EmbeddingBatchSize must be >= 1 (got {options.EmbeddingThreads}, {options.EmbeddingBatchSize}).");
        }

        if (options.EmbeddingParallelism < 1 || options.SentenceCacheEntries < 0)
        {
            errors.Add($"{at}:EmbeddingParallelism must be >= 1 and {at}:SentenceCacheEntries >= 0 (got {options.EmbeddingParallelism}, {options.SentenceCacheEntries}).");
        }

        if (options.Embedder is not ("MiniLm" or "SentenceEncoder"))
        {
            errors.Add($"{at}:Embedder must be MiniLm or SentenceEncoder (got '{options.Embedder}').");
        }

        if (options.SchemaCacheSize < 0)
        {
            errors.Add($"{at}:SchemaCacheSize must be >= 0 (got {options.SchemaCacheSize}).");
        }

        ValidateJudge(options.Judge, errors);
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    private static void ValidateJudge(Quality.Judge.JudgeOptions judge, List<string> errors)
    {
        const string at = GuardOptions.SectionName + ":Judge";
        if (!judge.Configured)
        {
            if (judge.Model.Length > 0)
            {
                errors.Add($"{at}:Endpoint is required when {at}:Model is set (the Inference server's gRPC address, e.g. http://inference:50051).");
            }

            return;
        }

        if (!Uri.TryCreate(judge.Endpoint, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
        {
            errors.Add($"{at}:Endpoint must be an absolute http:// or https:// address (got '{judge.Endpoint}').");
        }

        if (string.IsNullOrWhiteSpace(judge.Model))
        {
            errors.Add($"{at}:Model is required with {at}:Endpoint (the judge's model id as the Inference server lists it).");
        }

        if (!(judge.TimeoutSeconds > 0 && judge.TimeoutSeconds <= 3600))
        {
            errors.Add($"{at}:TimeoutSeconds must be in (0, 3600] (got {judge.TimeoutSeconds}).");
        }

        if (judge.MaxReasonChars is < 16 or > 4096)
        {
            errors.Add($"{at}:MaxReasonChars must be in [16, 4096] (got {judge.MaxReasonChars}).");
        }

        // The JSON around the reason takes ~12 tokens; a reason needs at least one token per 4 characters.
        var least = 16 + (judge.MaxReasonChars / 4);
        if (judge.MaxTokens < least || judge.MaxTokens > 32768)
        {
            errors.Add($"{at}:MaxTokens must be in [{least}, 32768] for a reason of up to {judge.MaxReasonChars} characters (got {judge.MaxTokens}).");
        }
    }
}
