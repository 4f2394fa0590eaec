using Mesh.ServiceDefaults.Tenancy;
using System.Diagnostics;
using System.Text;
using Grpc.Core;
using Mesh.Gateway.Tenancy;
using Mesh.Gateway.Tests.Infrastructure;
using GuardV1 = Mesh.Guard.V1;
using RetrievalV1 = Mesh.Retrieval.V1;

namespace Mesh.Gateway.Tests;

/// <summary>What the services receive: the tenant of the key (signed), deadlines, request ids, trace context.</summary>
[Collection(MeshCollection.Name)]
public sealed class TenancyTests(MeshFixture mesh)
{
    private const string ListPolicies = "/mesh.guard.v1.GuardService/ListPolicies";

    [Fact]
    public async Task Tenant_metadata_sent_by_a_client_is_overwritten_with_the_keys_tenant()
    {
        var client = new GuardV1.GuardService.GuardServiceClient(mesh.Channel);
        var forged = mesh.Narrow.Metadata;
        forged.Add("x-mesh-tenant", "acme");
        forged.Add("x-mesh-tenant-signature", "t=1,v1=00");

        await Calls.StatusOf(() => client.ListPoliciesAsync(new(), forged).ResponseAsync);

        var received = mesh.Guard.Calls.Last(c => c.Path == ListPolicies);
        Assert.Equal("globex", received.Header("x-mesh-tenant"));
        Assert.True(TenantSignature.Verify(Encoding.UTF8.GetBytes(GatewayUnderTest.SigningKey), "globex", ListPolicies,
            received.Header("x-mesh-tenant-signature"), DateTimeOffset.UtcNow, TimeSpan.FromMinutes(1)));
        Assert.False(TenantSignature.Verify(Encoding.UTF8.GetBytes(GatewayUnderTest.SigningKey), "acme", ListPolicies,
            received.Header("x-mesh-tenant-signature"), DateTimeOffset.UtcNow, TimeSpan.FromMinutes(1)));
    }

    [Fact]
    public async Task The_routes_deadline_caps_the_callers()
    {
        var client = new RetrievalV1.RetrievalService.RetrievalServiceClient(mesh.Channel);
        const string path = "/mesh.retrieval.v1.RetrievalService/ListCollections";

        await Calls.StatusOf(() => client.ListCollectionsAsync(new(), mesh.Admin.Metadata).ResponseAsync);
        var withoutDeadline = mesh.Retrieval.Calls.Last(c => c.Path == path);
        await Calls.StatusOf(() => client.ListCollectionsAsync(new(), mesh.Admin.Metadata, DateTime.UtcNow.AddSeconds(5)).ResponseAsync);
        var withShortDeadline = mesh.Retrieval.Calls.Last(c => c.Path == path);
        await Calls.StatusOf(() => client.ListCollectionsAsync(new(), mesh.Admin.Metadata, DateTime.UtcNow.AddHours(1)).ResponseAsync);
        var withLongDeadline = mesh.Retrieval.Calls.Last(c => c.Path == path);

        // mesh-gateway.json gives the retrieval route 30 seconds.
        Assert.Equal("30000m", withoutDeadline.Header("grpc-timeout"));
        Assert.True(Mesh.Gateway.GrpcWire.GrpcTimeout.TryParse(withShortDeadline.Header("grpc-timeout"), out var shortened));
        Assert.InRange(shortened, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(5));
        Assert.Equal("30000m", withLongDeadline.Header("grpc-timeout"));
    }

    [Fact]
    public async Task A_request_id_is_returned_to_the_caller_and_passed_to_the_service()
    {
        var client = new GuardV1.GuardService.GuardServiceClient(mesh.Channel);

        using var call = client.ListPoliciesAsync(new(), mesh.Admin.Metadata);
        var headers = await call.ResponseHeadersAsync;
        await Calls.StatusOf(() => call.ResponseAsync);

        var requestId = headers.GetValue("x-request-id");
        Assert.False(string.IsNullOrEmpty(requestId));
        Assert.Contains(mesh.Guard.Calls, c => c.Path == ListPolicies && c.Header("x-request-id") == requestId);
    }

    [Fact]
    public async Task The_callers_trace_continues_into_the_service()
    {
        using var source = new ActivitySource("Mesh.Gateway.Tests.Caller");
        using var listener = new ActivityListener
        {
            ShouldListenTo = s => s.Name == source.Name,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
        };
        ActivitySource.AddActivityListener(listener);
        var client = new GuardV1.GuardService.GuardServiceClient(mesh.Channel);

        string traceId;
        using (var caller = source.StartActivity("caller", ActivityKind.Client))
        {
            traceId = caller!.TraceId.ToString();
            await Calls.StatusOf(() => client.ListPoliciesAsync(new(), mesh.Admin.Metadata).ResponseAsync);
        }

        // W3C trace context: 00-<trace id>-<parent span id>-<flags>; the gateway's span is the parent.
        var traceparent = mesh.Guard.Calls.Last(c => c.Path == ListPolicies).Header("traceparent");
        Assert.NotNull(traceparent);
        Assert.Equal(traceId, traceparent.Split('-')[1]);
    }
}
