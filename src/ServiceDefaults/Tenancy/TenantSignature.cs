using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Mesh.ServiceDefaults.Tenancy;

/// <summary>
/// Signs the tenant the gateway asserts, so that a service reached directly (bypassing the gateway)
/// can tell a forged <c>x-mesh-tenant</c> from a real one. The value is
/// <c>t=&lt;unix seconds&gt;,v1=&lt;hex HMAC-SHA256(secret, "t.tenant.path")&gt;</c>: binding the call's
/// path and time means a signature seen on one call cannot be replayed for another method or later
/// than <c>maxAge</c>. (Stripe's webhook signatures use the same shape.) Services verify with
/// <see cref="Verify"/> and the same shared secret.
/// </summary>
public static class TenantSignature
{
    /// <summary>The header naming the tenant a call acts for.</summary>
    public const string TenantHeader = "x-mesh-tenant";

    /// <summary>The header carrying <see cref="Sign"/>'s value for <see cref="TenantHeader"/>.</summary>
    public const string SignatureHeader = "x-mesh-tenant-signature";

    /// <summary>
    /// The signature of <paramref name="tenant"/> for a call to <paramref name="path"/> (the gRPC
    /// method path, e.g. <c>/mesh.inference.v1.InferenceService/Generate</c>) made at
    /// <paramref name="now"/> (whole Unix seconds), keyed with <paramref name="secret"/>.
    /// </summary>
    public static string Sign(byte[] secret, string tenant, string path, DateTimeOffset now)
    {
        var t = now.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
        return $"t={t},v1={Mac(secret, t, tenant, path)}";
    }

    /// <summary>True when <paramref name="signature"/> was made with <paramref name="secret"/> for this tenant and path, within <paramref name="maxAge"/> of <paramref name="now"/>.</summary>
    public static bool Verify(byte[] secret, string tenant, string path, string? signature, DateTimeOffset now, TimeSpan maxAge)
    {
        if (signature is null)
        {
            return false;
        }

        string? t = null, v1 = null;
        foreach (var part in signature.Split(','))
        {
            if (part.StartsWith("t=", StringComparison.Ordinal)) t = part[2..];
            else if (part.StartsWith("v1=", StringComparison.Ordinal)) v1 = part[3..];
        }

        if (t is null || v1 is null || !long.TryParse(t, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds)
            || (now - DateTimeOffset.FromUnixTimeSeconds(seconds)).Duration() > maxAge)
        {
            return false;
        }

        return CryptographicOperations.FixedTimeEquals(
            Encoding.ASCII.GetBytes(Mac(secret, t, tenant, path)), Encoding.ASCII.GetBytes(v1));
    }

    private static string Mac(byte[] secret, string t, string tenant, string path) =>
        Convert.ToHexStringLower(HMACSHA256.HashData(secret, Encoding.UTF8.GetBytes($"{t}.{tenant}.{path}")));
}
