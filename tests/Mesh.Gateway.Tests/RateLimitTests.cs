using System.Globalization;
using Grpc.Core;
using Mesh.Gateway.Tests.Infrastructure;
using GuardV1 = Mesh.Guard.V1;
using RetrievalV1 = Mesh.Retrieval.V1;

namespace Mesh.Gateway.Tests;

/// <summary>Per-key limits: calls per second and calls open at once.</summary>
[Collection(MeshCollection.Name)]
public sealed class RateLimitTests(MeshFixture mesh)
{
    [Fact]
    public async Task Calls_over_the_keys_rate_are_resource_exhausted_with_a_retry_hint()
    {
        var client = new GuardV1.GuardService.GuardServiceClient(mesh.Channel);

        // Eight calls at once against a bucket of two (refilled with two each second).
        var outcomes = await Task.WhenAll(Enumerable.Range(0, 8).Select(async _ =>
        {
            try
            {
                await client.ListPoliciesAsync(new(), mesh.Slow.Metadata);
                return (Status.DefaultSuccess, (Metadata?)null);
            }
            catch (RpcException ex)
            {
                return (ex.Status, ex.Trailers);
            }
        }));

        var limited = outcomes.Where(o => o.Item1.StatusCode == StatusCode.ResourceExhausted).ToList();
        Assert.InRange(outcomes.Length - limited.Count, 2, 4); // the burst, plus one refill at most
        var (status, trailers) = limited[0];
        Assert.Contains("2 calls per second", status.Detail, StringComparison.Ordinal);
        var retryAfterMs = int.Parse(trailers!.GetValue("retry-after-ms")!, CultureInfo.InvariantCulture);
        Assert.InRange(retryAfterMs, 1, 1000);
    }

    [Fact]
    public async Task A_key_cannot_open_more_streams_than_it_is_allowed()
    {
        var client = new RetrievalV1.RetrievalService.RetrievalServiceClient(mesh.Channel);
        var held = new Metadata { { ServiceReplica.HoldHeader, "1" } };
        foreach (var entry in mesh.SingleStream.Metadata)
        {
            held.Add(entry);
        }

        // The first call stays open at the service until released.
        var open = client.ListCollectionsAsync(new(), held);
        await WaitUntil(() => mesh.Retrieval.Calls.Any(c => c.Header(ServiceReplica.HoldHeader) is not null
            && c.Header("x-mesh-tenant") == mesh.SingleStream.Tenant));

        var refused = await Calls.FailureOf(() => client.ListCollectionsAsync(new(), mesh.SingleStream.Metadata).ResponseAsync);
        Assert.Equal(StatusCode.ResourceExhausted, refused.StatusCode);
        Assert.Contains("1 calls open", refused.Status.Detail, StringComparison.Ordinal);

        mesh.Retrieval.ReleaseHeld();
        await Calls.StatusOf(() => open.ResponseAsync);

        var after = await Calls.StatusOf(() => client.ListCollectionsAsync(new(), mesh.SingleStream.Metadata).ResponseAsync);
        Assert.NotEqual(StatusCode.ResourceExhausted, after);
    }

    private static async Task WaitUntil(Func<bool> condition)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while (!condition())
        {
            await Task.Delay(20, cts.Token);
        }
    }
}
