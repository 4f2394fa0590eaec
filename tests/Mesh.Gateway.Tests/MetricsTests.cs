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

    [Fact]
    public async Task Call_durations_are_seconds_in_buckets_made_for_seconds()
    {
        var client = new GuardV1.GuardService.GuardServiceClient(mesh.Channel);
        for (var i = 0; i < 3; i++)
        {
            await client.ListPoliciesAsync(new(), mesh.Admin.Metadata);
        }

        using var http = new HttpClient { BaseAddress = mesh.Gateway.HttpAddress };
        var buckets = (await http.GetStringAsync("/metrics")).Split('\n')
            .Where(l => l.StartsWith("mesh_gateway_call_duration_seconds_bucket{", StringComparison.Ordinal)
                && l.Contains("rpc_method=\"/mesh.guard.v1.GuardService/ListPolicies\"", StringComparison.Ordinal)
                && l.Contains("rpc_grpc_status=\"OK\"", StringComparison.Ordinal))
            .Select(l => (Le: l[(l.IndexOf("le=\"", StringComparison.Ordinal) + 4)..l.IndexOf("\"}", StringComparison.Ordinal)], Count: double.Parse(l[(l.IndexOf("} ", StringComparison.Ordinal) + 2)..].Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture)))
            .ToList();

        // Sub-second boundaries exist, and ListPolicies calls (milliseconds, the first one cold) all fall at or below 10 (seconds).
        Assert.Contains(buckets, b => b.Le == "0.005");
        Assert.Contains(buckets, b => b.Le == "300");
        // Other tests of this class add series for the same method (other keys, tenants), so sum over series.
        var total = buckets.Where(b => b.Le == "+Inf").Sum(b => b.Count);
        Assert.True(total >= 3);
        Assert.Equal(total, buckets.Where(b => b.Le == "10").Sum(b => b.Count));
    }

    [Fact]
    public async Task A_method_no_contract_declares_is_counted_as_OTHER_not_as_a_series_of_its_own()
    {
        // Callers choose the path: each made-up one must not become a series (unbounded cardinality that
        // would push real methods' series past the SDK's limit).
        var made = $"NoSuchMethod{Guid.NewGuid():N}";
        var bytes = new Marshaller<byte[]>(b => b, b => b);
        var method = new Method<byte[], byte[]>(MethodType.Unary, "mesh.guard.v1.GuardService", made, bytes, bytes);
        var status = await Calls.StatusOf(() => mesh.Channel.CreateCallInvoker()
            .AsyncUnaryCall(method, null, new CallOptions(mesh.Admin.Metadata), []).ResponseAsync);
        Assert.Equal(StatusCode.Unimplemented, status);

        using var http = new HttpClient { BaseAddress = mesh.Gateway.HttpAddress };
        var lines = (await http.GetStringAsync("/metrics")).Split('\n');
        Assert.DoesNotContain(lines, l => l.Contains(made, StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("mesh_gateway_call_duration_seconds_count{", StringComparison.Ordinal)
            && l.Contains("rpc_method=\"_OTHER\"", StringComparison.Ordinal));
    }
}
