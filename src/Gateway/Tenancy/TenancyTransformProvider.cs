using Mesh.ServiceDefaults.Tenancy;
using System.Text;
using Mesh.Gateway.Authentication;
using Mesh.Gateway.Observability;
using Microsoft.Extensions.Options;
using Yarp.ReverseProxy.Transforms;
using Yarp.ReverseProxy.Transforms.Builder;

namespace Mesh.Gateway.Tenancy;

/// <summary>
/// On every route: drops whatever tenant, signature and credentials the caller sent and sets the
/// tenant of the authenticated key (signed when a secret is configured), plus the request id. The
/// API key stays at the edge: services never see it.
/// </summary>
public sealed class TenancyTransformProvider(IOptions<GatewayOptions> options, TimeProvider time) : ITransformProvider
{
    /// <summary>The tenant services assume when none is sent (the Mesh convention).</summary>
    public const string DefaultTenant = "default";

    private readonly TenantSignatureCache? _signatures = string.IsNullOrEmpty(options.Value.TenantSigningKey)
        ? null
        : new TenantSignatureCache(Encoding.UTF8.GetBytes(options.Value.TenantSigningKey));

    /// <inheritdoc/>
    public void ValidateRoute(TransformRouteValidationContext context)
    {
    }

    /// <inheritdoc/>
    public void ValidateCluster(TransformClusterValidationContext context)
    {
    }

    /// <inheritdoc/>
    public void Apply(TransformBuilderContext context) => context.AddRequestTransform(transform =>
    {
        var headers = transform.ProxyRequest.Headers;
        headers.Remove(TenantSignature.TenantHeader);
        headers.Remove(TenantSignature.SignatureHeader);
        headers.Remove("authorization");

        var tenant = transform.HttpContext.User.GetTenant() ?? DefaultTenant;
        headers.TryAddWithoutValidation(TenantSignature.TenantHeader, tenant);
        if (_signatures is not null)
        {
            headers.TryAddWithoutValidation(TenantSignature.SignatureHeader,
                _signatures.Sign(tenant, transform.HttpContext.Request.Path.Value ?? "", time.GetUtcNow()));
        }

        headers.Remove(RequestIds.HeaderName);
        headers.TryAddWithoutValidation(RequestIds.HeaderName, transform.HttpContext.TraceIdentifier);
        return ValueTask.CompletedTask;
    });
}
