namespace Mesh.Gateway.Authentication;

/// <summary>An API key the gateway knows: its configured name and settings.</summary>
public sealed record ApiKey(string Name, ApiKeyOptions Options)
{
    public string Tenant => Options.Tenant;

    public bool MayUseModel(string model) => Allows(Options.Models, model);

    public bool MayUseCollection(string collection) => Allows(Options.Collections, collection);

    private static bool Allows(List<string> allowed, string value) =>
        allowed.Contains("*", StringComparer.Ordinal) || allowed.Contains(value, StringComparer.Ordinal);
}
