using Mesh.ServiceDefaults.Tenancy;
using System.Text;
using Mesh.Gateway.Tenancy;

namespace Mesh.Gateway.Tests.Units;

/// <summary>What a service can rely on when it verifies the tenant signature.</summary>
public sealed class TenantSignatureTests
{
    private static readonly byte[] Secret = Encoding.UTF8.GetBytes("shared-secret");
    private static readonly DateTimeOffset Now = new(2026, 11, 28, 8, 0, 0, TimeSpan.Zero);
    private const string Path = "/mesh.retrieval.v1.RetrievalService/Search";

    [Fact]
    public void A_signature_verifies_for_its_tenant_path_and_secret_only()
    {
        var signature = TenantSignature.Sign(Secret, "acme", Path, Now);

        Assert.True(TenantSignature.Verify(Secret, "acme", Path, signature, Now, TimeSpan.FromMinutes(1)));
        Assert.False(TenantSignature.Verify(Secret, "globex", Path, signature, Now, TimeSpan.FromMinutes(1)));
        Assert.False(TenantSignature.Verify(Secret, "acme", "/mesh.retrieval.v1.RetrievalService/DropCollection", signature, Now, TimeSpan.FromMinutes(1)));
        Assert.False(TenantSignature.Verify(Encoding.UTF8.GetBytes("other"), "acme", Path, signature, Now, TimeSpan.FromMinutes(1)));
    }

    [Fact]
    public void An_old_signature_is_refused()
    {
        var signature = TenantSignature.Sign(Secret, "acme", Path, Now);

        Assert.False(TenantSignature.Verify(Secret, "acme", Path, signature, Now.AddMinutes(5), TimeSpan.FromMinutes(1)));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("v1=abc")]
    [InlineData("t=abc,v1=00")]
    public void Malformed_signatures_are_refused(string? signature) =>
        Assert.False(TenantSignature.Verify(Secret, "acme", Path, signature, Now, TimeSpan.FromMinutes(1)));
}
