using Microsoft.Extensions.Options;

namespace Mesh.Retrieval;

/// <summary>Refuses, at start, Retrieval settings that would fail later, naming each setting and what it must be.</summary>
public sealed class RetrievalOptionsValidator : IValidateOptions<RetrievalOptions>
{
    /// <summary>Success, or every invalid setting named with its allowed range.</summary>
    public ValidateOptionsResult Validate(string? name, RetrievalOptions options)
    {
        const string at = RetrievalOptions.SectionName;
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(options.DataPath))
        {
            errors.Add($"{at}:DataPath is required (the folder that holds every collection).");
        }

        if (options.ExactSearchThreshold < 0)
        {
            errors.Add($"{at}:ExactSearchThreshold must be >= 0 (got {options.ExactSearchThreshold}).");
        }

        if (options.SnapshotAfterLogBytes <= 0)
        {
            errors.Add($"{at}:SnapshotAfterLogBytes must be > 0 (got {options.SnapshotAfterLogBytes}).");
        }

        if (options.IndexConcurrency < 0)
        {
            errors.Add($"{at}:IndexConcurrency must be >= 0, 0 meaning two per core (got {options.IndexConcurrency}).");
        }

        if (options.QueryEmbeddingCacheEntries is < 0 or > 1_000_000)
        {
            errors.Add($"{at}:QueryEmbeddingCacheEntries must be in [0, 1000000], 0 turning the cache off (got {options.QueryEmbeddingCacheEntries}).");
        }

        if (options.MaxPayloadBytes <= 0)
        {
            errors.Add($"{at}:MaxPayloadBytes must be > 0 (got {options.MaxPayloadBytes}).");
        }

        if (options.MaxPointsPerRequest < 1)
        {
            errors.Add($"{at}:MaxPointsPerRequest must be >= 1 (got {options.MaxPointsPerRequest}).");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
