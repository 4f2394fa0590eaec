using System.Security.Claims;

namespace Mesh.Gateway.Authentication;

/// <summary>The claims an authenticated call carries, and how the rest of the gateway reads them.</summary>
public static class GatewayClaims
{
    public const string KeyName = "mesh:key";
    public const string Tenant = "mesh:tenant";

    public static string? GetKeyName(this ClaimsPrincipal user) => user.FindFirst(KeyName)?.Value;

    public static string? GetTenant(this ClaimsPrincipal user) => user.FindFirst(Tenant)?.Value;
}
