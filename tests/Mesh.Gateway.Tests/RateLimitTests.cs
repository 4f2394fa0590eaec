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
        var outcomes = new List<Status>();
        Metadata? trailers = null;
        for (var i = 0; i < 8; i++)
        {
            try
            {
                await client.ListPoliciesAsync(new(), mesh.Slow.Metadata);
                outcomes.Add(Status.DefaultSuccess);
            }
            catch (RpcException ex)
            {
                outcomes.Add(ex.Status);
                if (ex.StatusCode == StatusCode.ResourceExhausted)
                {
                    trailers ??= ex.Trailers;
                }
            }
        }

        // Two per second, bursts of two: of eight quick calls at most four (two refills) pass the limit.
        var limited = outcomes.Count(s => s.StatusCode == StatusCode.ResourceExhausted);
        Assert.InRange(limited, 4, 6);
        Assert.NotNull(trailers);
        var retryAfterMs = int.Parse(trailers.GetValue("retry-after-ms")!, CultureInfo.InvariantCulture);
        Assert.InRange(retryAfterMs, 1, 1000);
        Assert.Contains(outcomes, s => s.StatusCode == StatusCode.ResourceExhausted && s.Detail.Contains("2 calls per second", StringComparison.Ordinal));
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
