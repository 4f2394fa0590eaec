using Mesh.Gateway.Authentication;

namespace Mesh.Gateway;

/// <summary>
/// The gateway's own settings, bound from the <c>Gateway</c> section. Routes, clusters, load balancing
/// and health checks are YARP's <c>ReverseProxy</c> section (see mesh-gateway.json).
/// </summary>
public sealed class GatewayOptions
{
    /// <summary>The configuration section these options bind to.</summary>
    public const string SectionName = "Gateway";

    /// <summary>API keys by name. The name appears in logs and metrics; the key itself never does.</summary>
    public Dictionary<string, ApiKeyOptions> ApiKeys { get; set; } = new(StringComparer.Ordinal);

    /// <summary>
    /// Largest request message the gateway accepts for a call it inspects (unary and server-streaming
    /// calls), in bytes. Larger ones get RESOURCE_EXHAUSTED, as a gRPC server answers them. Default 4 MiB,
    /// gRPC's own default.
    /// </summary>
    public int MaxRequestMessageBytes { get; set; } = 4 * 1024 * 1024;

    /// <summary>
    /// Which request fields name a resource the key must be allowed to use: a field's full name
    /// (<c>mesh.retrieval.v1.DropCollectionRequest.name</c>) or short name (<c>model</c>) mapped to
    /// <c>model</c> or <c>collection</c>. String and repeated string fields of the top-level request
    /// message are checked. Full names win over short names.
    /// </summary>
    public Dictionary<string, string> ResourceFields { get; set; } = new(StringComparer.Ordinal)
    {
        ["model"] = ResourceKinds.Model,
        ["models"] = ResourceKinds.Model,
        ["collection"] = ResourceKinds.Collection,
        ["collections"] = ResourceKinds.Collection,
    };

    /// <summary>
    /// Shared secret that signs the tenant metadata sent to the services (HMAC-SHA256, header
    /// <c>x-mesh-tenant-signature</c>). Empty: the tenant is sent unsigned and a warning is logged at start.
    /// </summary>
    public string? TenantSigningKey { get; set; }
}

/// <summary>The kinds of resource an API key is given access to.</summary>
public static class ResourceKinds
{
    /// <summary>The field name <c>model</c>.</summary>
    public const string Model = "model";
    /// <summary>The field name <c>collection</c>.</summary>
    public const string Collection = "collection";
}
