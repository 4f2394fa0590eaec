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

/// <summary>The gateway's per-second reuse of signatures gives what signing afresh gives.</summary>
public sealed class TenantSignatureCacheTests
{
    private static readonly byte[] Secret = Encoding.UTF8.GetBytes("shared-secret");
    private static readonly DateTimeOffset Now = new(2026, 11, 28, 8, 0, 0, TimeSpan.Zero);
    private const string Search = "/mesh.retrieval.v1.RetrievalService/Search";
    private const string Drop = "/mesh.retrieval.v1.RetrievalService/DropCollection";

    [Fact]
    public void Within_a_second_and_across_seconds_tenants_and_paths_the_value_is_what_Sign_returns()
    {
        var cache = new TenantSignatureCache(Secret);
        (string Tenant, string Path, DateTimeOffset At)[] calls =
        [
            ("acme", Search, Now), ("acme", Search, Now.AddMilliseconds(999)), ("globex", Search, Now.AddMilliseconds(999)),
            ("acme", Drop, Now.AddMilliseconds(999)), ("acme", Search, Now.AddSeconds(1)), ("acme", Search, Now.AddSeconds(1)),
            ("acme", Search, Now),
        ];

        foreach (var (tenant, path, at) in calls)
        {
            Assert.Equal(TenantSignature.Sign(Secret, tenant, path, at), cache.Sign(tenant, path, at));
        }
    }

    [Fact]
    public void Many_paths_from_many_threads_each_get_their_own_signature()
    {
        var cache = new TenantSignatureCache(Secret);
        var paths = Enumerable.Range(0, 2000).Select(i => $"/mesh.inference.v1.InferenceService/M{i}").ToArray();

        Parallel.ForEach(paths, new ParallelOptions { MaxDegreeOfParallelism = 4 }, path =>
        {
            for (var i = 0; i < 3; i++)
            {
                Assert.Equal(TenantSignature.Sign(Secret, "acme", path, Now), cache.Sign("acme", path, Now));
            }
        });
    }
}
