using Grpc.Core;
using Grpc.Net.Client;
using Mesh.Gateway.Tests.Infrastructure;
using Mesh.Guard;
using Mesh.Inference;
using Mesh.Retrieval;
using InferenceV1 = Mesh.Inference.V1;

namespace Mesh.Gateway.Tests;

/// <summary>
/// Two Inference replicas behind the gateway: one stops mid-test, the gRPC health check takes it out,
/// calls keep succeeding on the other; it comes back and is put back in rotation.
/// </summary>
public sealed class FailoverTests : IAsyncLifetime
{
    private const string ListModels = "/mesh.inference.v1.InferenceService/ListModels";
    private readonly TestKey _key = new("admin", "acme", ["*"], ["*"]);
    private ServiceReplica _a = null!;
    private ServiceReplica _b = null!;
    private ServiceReplica _retrieval = null!;
    private ServiceReplica _guard = null!;
    private GatewayUnderTest _gateway = null!;

    public async Task InitializeAsync()
    {
        _a = await ServiceReplica.StartAsync(InferenceHost.CreateApp, 0, MeshFixture.InferenceArgs);
        _b = await ServiceReplica.StartAsync(InferenceHost.CreateApp, 0, MeshFixture.InferenceArgs);
        _retrieval = await ServiceReplica.StartAsync(RetrievalHost.CreateApp, 0, MeshFixture.RetrievalArgs());
        _guard = await ServiceReplica.StartAsync(GuardHost.CreateApp);
        _gateway = await GatewayUnderTest.StartAsync(
            new Dictionary<string, IReadOnlyList<Uri>>
            {
                ["inference"] = [_a.Address, _b.Address],
                ["retrieval"] = [_retrieval.Address],
                ["guard"] = [_guard.Address],
            },
            [_key],
            // Round robin makes "both replicas get calls" deterministic; the health logic is the same for every policy.
            "--ReverseProxy:Clusters:inference:LoadBalancingPolicy=RoundRobin");
    }

    public async Task DisposeAsync()
    {
        await _gateway.DisposeAsync();
        await _a.DisposeAsync();
        await _b.DisposeAsync();
        await _retrieval.DisposeAsync();
        await _guard.DisposeAsync();
    }

    [Fact]
    public async Task Stopping_a_replica_does_not_fail_calls_once_the_health_check_noticed_and_it_returns_when_healthy()
    {
        var client = new InferenceV1.InferenceService.InferenceServiceClient(_gateway.Channel);
        using var directToB = GrpcChannel.ForAddress(_b.Address);
        var expected = await Calls.StatusOf(() => new InferenceV1.InferenceService.InferenceServiceClient(directToB).ListModelsAsync(new()).ResponseAsync);
        Assert.NotEqual(StatusCode.Unavailable, expected);

        // Both replicas serve while both are up.
        for (var i = 0; i < 6; i++)
        {
            Assert.Equal(expected, await Calls.StatusOf(() => client.ListModelsAsync(new(), _key.Metadata).ResponseAsync));
        }

        Assert.Contains(_a.Calls, c => c.Path == ListModels);
        Assert.Contains(_b.Calls, c => c.Path == ListModels);

        // Replica A goes away; the gRPC health probe notices.
        var portA = _a.Address.Port;
        await _a.StopAsync();
        await _a.DisposeAsync();
        await _gateway.WaitForAvailableDestinationsAsync("inference", 1, TimeSpan.FromSeconds(10));

        var servedByB = _b.Calls.Count(c => c.Path == ListModels);
        for (var i = 0; i < 20; i++)
        {
            Assert.Equal(expected, await Calls.StatusOf(() => client.ListModelsAsync(new(), _key.Metadata).ResponseAsync));
        }

        Assert.Equal(servedByB + 20, _b.Calls.Count(c => c.Path == ListModels));

        // A replica on the same address comes back: the next good probe puts it back in rotation.
        _a = await ServiceReplica.StartAsync(InferenceHost.CreateApp, portA, MeshFixture.InferenceArgs);
        await _gateway.WaitForAvailableDestinationsAsync("inference", 2, TimeSpan.FromSeconds(10));
        for (var i = 0; i < 6; i++)
        {
            Assert.Equal(expected, await Calls.StatusOf(() => client.ListModelsAsync(new(), _key.Metadata).ResponseAsync));
        }

        Assert.Contains(_a.Calls, c => c.Path == ListModels);
    }
}
