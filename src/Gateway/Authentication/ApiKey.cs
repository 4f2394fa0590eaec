namespace Mesh.Gateway.Authentication;

/// <summary>An API key the gateway knows: its configured name and settings.</summary>
public sealed record ApiKey(string Name, ApiKeyOptions Options)
{
    /// <summary>The tenant every call made with this key runs in.</summary>
    public string Tenant => Options.Tenant;

    /// <summary>Whether the key may use the model id (its <c>Models</c> list names it, or holds <c>*</c>).</summary>
    public bool MayUseModel(string model) => Allows(Options.Models, model);

    /// <summary>Whether the key may use the collection (its <c>Collections</c> list names it, or holds <c>*</c>).</summary>
    public bool MayUseCollection(string collection) => Allows(Options.Collections, collection);

    private static bool Allows(List<string> allowed, string value) =>
        allowed.Contains("*", StringComparer.Ordinal) || allowed.Contains(value, StringComparer.Ordinal);
}
