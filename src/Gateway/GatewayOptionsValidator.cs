using Microsoft.Extensions.Options;

namespace Mesh.Gateway;

/// <summary>
/// Refuses to start with a configuration that would fail calls later, and says what to fix. Also
/// reports API keys the configuration names but binding dropped: the configuration binder silently
/// skips a dictionary entry with a value it cannot convert (<c>RequestsPerSecond=lots</c>), which
/// would otherwise leave that key unknown at call time.
/// </summary>
public sealed class GatewayOptionsValidator(IConfiguration configuration) : IValidateOptions<GatewayOptions>
{
    /// <inheritdoc/>
    public ValidateOptionsResult Validate(string? name, GatewayOptions options)
    {
        var errors = new List<string>();
        foreach (var configured in configuration.GetSection($"{GatewayOptions.SectionName}:ApiKeys").GetChildren())
        {
            if (!options.ApiKeys.ContainsKey(configured.Key))
            {
                try
                {
                    configured.Get<Authentication.ApiKeyOptions>();
                    errors.Add($"{configured.Path} could not be read.");
                }
                catch (InvalidOperationException e)
                {
                    errors.Add($"{configured.Path}: {e.Message}");
                }
            }
        }

        if (options.MaxRequestMessageBytes <= 0)
        {
            errors.Add($"Gateway:MaxRequestMessageBytes must be > 0 (got {options.MaxRequestMessageBytes}).");
        }

        foreach (var (field, kind) in options.ResourceFields)
        {
            if (kind is not (ResourceKinds.Model or ResourceKinds.Collection))
            {
                errors.Add($"Gateway:ResourceFields:{field} must be '{ResourceKinds.Model}' or '{ResourceKinds.Collection}', not '{kind}'.");
            }
        }

        foreach (var (keyName, key) in options.ApiKeys)
        {
            var at = $"Gateway:ApiKeys:{keyName}";
            if (key.Sha256.Length != 64 || !key.Sha256.All(Uri.IsHexDigit))
            {
                errors.Add($"{at}:Sha256 must be the 64-digit hex SHA-256 of the key (printf %s \"$KEY\" | sha256sum).");
            }

            if (string.IsNullOrWhiteSpace(key.Tenant))
            {
                errors.Add($"{at}:Tenant is required.");
            }

            if (key.RequestsPerSecond <= 0 || key.TokensPerMinute <= 0 || key.MaxConcurrentStreams <= 0)
            {
                errors.Add($"{at}: RequestsPerSecond, TokensPerMinute and MaxConcurrentStreams must be > 0.");
            }
        }

        var duplicates = options.ApiKeys.GroupBy(k => k.Value.Sha256.ToLowerInvariant()).Where(g => g.Count() > 1);
        errors.AddRange(duplicates.Select(d => $"Gateway:ApiKeys {string.Join(", ", d.Select(k => k.Key))} share one Sha256."));
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
