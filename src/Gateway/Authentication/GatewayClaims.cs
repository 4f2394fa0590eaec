using System.Security.Claims;

namespace Mesh.Gateway.Authentication;

/// <summary>The claims an authenticated call carries, and how the rest of the gateway reads them.</summary>
public static class GatewayClaims
{
    /// <summary>The claim holding the API key's configured name.</summary>
    public const string KeyName = "mesh:key";
    /// <summary>The claim holding the key's tenant.</summary>
    public const string Tenant = "mesh:tenant";

    /// <summary>The authenticated key's name, or null for an anonymous caller.</summary>
    public static string? GetKeyName(this ClaimsPrincipal user) => user.FindFirst(KeyName)?.Value;

    /// <summary>The authenticated key's tenant, or null for an anonymous caller.</summary>
    public static string? GetTenant(this ClaimsPrincipal user) => user.FindFirst(Tenant)?.Value;
}
