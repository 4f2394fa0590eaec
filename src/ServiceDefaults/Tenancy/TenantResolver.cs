using Grpc.Core;
using Microsoft.Extensions.Options;

namespace Mesh.ServiceDefaults.Tenancy;

/// <summary>Tenancy settings of a service (section <c>Mesh:Tenancy</c>).</summary>
public sealed class TenancyOptions
{
    /// <summary>The configuration section these options bind from.</summary>
    public const string SectionName = "Mesh:Tenancy";

    /// <summary>
    /// The secret the gateway signs <c>x-mesh-tenant</c> with (its <c>Gateway:TenantSigningKey</c>).
    /// When set, a call must carry a valid signature for its tenant and method, so a caller that
    /// reaches the service directly cannot claim another tenant. Unset (development), the header is
    /// trusted as it is.
    /// </summary>
    public string? SigningKey { get; set; }

    /// <summary>How old a signature may be (clock skew included).</summary>
    public TimeSpan MaxSignatureAge { get; set; } = TimeSpan.FromMinutes(5);
}

/// <summary>The tenant a call acts for: <c>x-mesh-tenant</c>, verified when a signing key is configured.</summary>
public sealed class TenantResolver(IOptions<TenancyOptions> options, TimeProvider time)
{
    /// <summary>The tenant of a call without <c>x-mesh-tenant</c> when no signing key is configured.</summary>
    public const string DefaultTenant = "default";

    private readonly byte[]? _secret = string.IsNullOrEmpty(options.Value.SigningKey) ? null : System.Text.Encoding.UTF8.GetBytes(options.Value.SigningKey);

    /// <summary>The call's tenant, or UNAUTHENTICATED when a signature is required and missing or wrong.</summary>
    public string Resolve(ServerCallContext context)
    {
        var tenant = context.RequestHeaders.GetValue(TenantSignature.TenantHeader);
        if (_secret is null)
        {
            return string.IsNullOrEmpty(tenant) ? DefaultTenant : tenant;
        }

        var signature = context.RequestHeaders.GetValue(TenantSignature.SignatureHeader);
        if (string.IsNullOrEmpty(tenant) || !TenantSignature.Verify(_secret, tenant, context.Method, signature, time.GetUtcNow(), options.Value.MaxSignatureAge))
        {
            throw new RpcException(new Status(StatusCode.Unauthenticated, "this service accepts calls only through the Mesh gateway: x-mesh-tenant is missing or not signed by it"));
        }

        return tenant;
    }
}
