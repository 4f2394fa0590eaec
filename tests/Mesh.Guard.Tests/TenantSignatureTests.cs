using Grpc.Core;
using Mesh.Guard.V1;
using Mesh.ServiceDefaults.Tenancy;

namespace Mesh.Guard.Tests;

/// <summary>With a signing key configured, the service accepts only tenants the gateway signed.</summary>
public sealed class TenantSignatureTests
{
    private const string Secret = "a-shared-secret-for-tests";

    [Fact]
    public async Task A_forged_or_unsigned_tenant_is_refused_and_a_signed_one_accepted()
    {
        await using var server = await GuardServer.StartAsync(null, $"--Mesh:Tenancy:SigningKey={Secret}");
        const string path = "/mesh.guard.v1.GuardService/Check";
        var key = System.Text.Encoding.UTF8.GetBytes(Secret);

        var unsigned = new Metadata { { TenantSignature.TenantHeader, "acme" } };
        var e = await Assert.ThrowsAsync<RpcException>(() => server.CheckAsync("hello", Stage.Input, headers: unsigned));
        Assert.Equal(StatusCode.Unauthenticated, e.StatusCode);

        var forged = new Metadata
        {
            { TenantSignature.TenantHeader, "acme" },
            { TenantSignature.SignatureHeader, TenantSignature.Sign(key, "other-tenant", path, DateTimeOffset.UtcNow) },
        };
        e = await Assert.ThrowsAsync<RpcException>(() => server.CheckAsync("hello", Stage.Input, headers: forged));
        Assert.Equal(StatusCode.Unauthenticated, e.StatusCode);

        var signed = new Metadata
        {
            { TenantSignature.TenantHeader, "acme" },
            { TenantSignature.SignatureHeader, TenantSignature.Sign(key, "acme", path, DateTimeOffset.UtcNow) },
        };
        var response = await server.CheckAsync("hello", Stage.Input, headers: signed);
        Assert.Equal(Mesh.Guard.V1.Action.Allow, response.Verdict);
    }
}
