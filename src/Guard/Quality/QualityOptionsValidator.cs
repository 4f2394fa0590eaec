using Microsoft.Extensions.Options;

namespace Mesh.Guard.Quality;

/// <summary>Refuses, at start, quality and drift settings that cannot work, naming each setting and its allowed range.</summary>
public sealed class QualityOptionsValidator : IValidateOptions<QualityOptions>
{
    /// <inheritdoc/>
    public ValidateOptionsResult Validate(string? name, QualityOptions options)
    {
        const string at = QualityOptions.SectionName;
        var errors = new List<string>();
        if (options.GroundednessThreshold is < -1 or > 1)
        {
            errors.Add($"{at}:GroundednessThreshold is a cosine similarity: it must be in [-1, 1] (got {options.GroundednessThreshold}).");
        }

        if (options.MinSentenceWords < 1 || options.MaxSources < 1 || options.EmbeddingCacheEntries < 0)
        {
            errors.Add($"{at}:MinSentenceWords and {at}:MaxSources must be >= 1, {at}:EmbeddingCacheEntries >= 0.");
        }

        var d = options.Drift;
        if (d.ReferenceSize < 2 || d.WindowSize < 2)
        {
            errors.Add($"{at}:Drift:ReferenceSize and WindowSize must be >= 2 (MMD compares at least two samples per window).");
        }

        if (d.EvaluateEvery < 1 || d.Permutations < 1 || d.ConsecutiveComparisons < 1 || d.MaxSeries < 1)
        {
            errors.Add($"{at}:Drift:EvaluateEvery, Permutations, ConsecutiveComparisons and MaxSeries must be >= 1.");
        }

        if (d.PValueThreshold is <= 0 or > 1 || d.MinMmd2 < 0 || d.PsiThreshold < 0 || d.RateChangeThreshold < 0 || d.GroundednessDropThreshold < 0)
        {
            errors.Add($"{at}:Drift: PValueThreshold must be in (0, 1]; MinMmd2, PsiThreshold, RateChangeThreshold and GroundednessDropThreshold >= 0.");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
