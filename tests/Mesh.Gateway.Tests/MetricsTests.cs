using Grpc.Core;
using Mesh.Gateway.Tests.Infrastructure;
using GuardV1 = Mesh.Guard.V1;

namespace Mesh.Gateway.Tests;

/// <summary>The Prometheus endpoint counts calls by route, method and gRPC status, refused ones included.</summary>
[Collection(MeshCollection.Name)]
public sealed class MetricsTests(MeshFixture mesh)
{
    [Fact]
    public async Task Calls_are_counted_per_route_method_and_grpc_status()
    {
        var client = new GuardV1.GuardService.GuardServiceClient(mesh.Channel);
        await Calls.StatusOf(() => client.ListPoliciesAsync(new(), mesh.Admin.Metadata).ResponseAsync);
        var refused = await Calls.StatusOf(() => client.ListPoliciesAsync(new(), new Metadata()).ResponseAsync);
        Assert.Equal(StatusCode.Unauthenticated, refused);

        using var http = new HttpClient { BaseAddress = mesh.Gateway.HttpAddress };
        var lines = (await http.GetStringAsync("/metrics")).Split('\n');

        var counts = lines.Where(l => l.StartsWith("mesh_gateway_call_duration_seconds_count{", StringComparison.Ordinal)
            && l.Contains("rpc_method=\"/mesh.guard.v1.GuardService/ListPolicies\"", StringComparison.Ordinal)).ToList();
        Assert.Contains(counts, l => l.Contains("mesh_route=\"guard\"", StringComparison.Ordinal)
            && l.Contains("rpc_grpc_status=\"Unauthenticated\"", StringComparison.Ordinal));
        Assert.Contains(counts, l => l.Contains("mesh_route=\"guard\"", StringComparison.Ordinal)
            && !l.Contains("rpc_grpc_status=\"Unauthenticated\"", StringComparison.Ordinal));
    }
}
