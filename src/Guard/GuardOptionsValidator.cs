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

        if (options.SchemaCacheSize < 0)
        {
            errors.Add($"{at}:SchemaCacheSize must be >= 0 (got {options.SchemaCacheSize}).");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
