using Grpc.Core;
using Grpc.Net.Client;
using Mesh.Gateway.Tests.Infrastructure;
using GuardV1 = Mesh.Guard.V1;
using InferenceV1 = Mesh.Inference.V1;
using RetrievalV1 = Mesh.Retrieval.V1;

namespace Mesh.Gateway.Tests;

/// <summary>Calls through the gateway reach the service their gRPC service name belongs to.</summary>
[Collection(MeshCollection.Name)]
public sealed class RoutingTests(MeshFixture mesh)
{
    public static TheoryData<string> Services => ["inference", "retrieval", "guard"];

    [Theory]
    [MemberData(nameof(Services))]
    public async Task A_call_through_the_gateway_reaches_its_service_and_ends_as_a_direct_call_does(string service)
    {
        var (replica, path, call) = service switch
        {
            "inference" => (mesh.Inference, "/mesh.inference.v1.InferenceService/ListModels",
                (Func<GrpcChannel, Metadata?, Task>)(async (c, m) => await new InferenceV1.InferenceService.InferenceServiceClient(c).ListModelsAsync(new(), m))),
            "retrieval" => (mesh.Retrieval, "/mesh.retrieval.v1.RetrievalService/ListCollections",
                async (c, m) => await new RetrievalV1.RetrievalService.RetrievalServiceClient(c).ListCollectionsAsync(new(), m)),
            _ => (mesh.Guard, "/mesh.guard.v1.GuardService/ListPolicies",
                async (c, m) => await new GuardV1.GuardService.GuardServiceClient(c).ListPoliciesAsync(new(), m)),
        };
        var before = replica.Calls.Count(c => c.Path == path);

        var throughGateway = await Calls.StatusOf(() => call(mesh.Channel, mesh.Admin.Metadata));

        using var direct = GrpcChannel.ForAddress(replica.Address);
        var directly = await Calls.StatusOf(() => call(direct, null));
        Assert.Equal(directly, throughGateway);
        Assert.Equal(before + 2, replica.Calls.Count(c => c.Path == path));
    }

    [Fact]
    public async Task A_streamed_generation_through_the_gateway_is_the_same_as_a_direct_one()
    {
        var request = new InferenceV1.GenerateRequest
        {
            Model = "stories260K",
            Prompt = "Once upon a time",
            MaxTokens = 48,
            Sampling = new InferenceV1.SamplingParams { Temperature = 0 },
        };
        using var direct = GrpcChannel.ForAddress(mesh.Inference.Address);

        var throughGateway = await GenerateAsync(new InferenceV1.InferenceService.InferenceServiceClient(mesh.Channel), request, mesh.Admin.Metadata);
        var directly = await GenerateAsync(new InferenceV1.InferenceService.InferenceServiceClient(direct), request, null);

        Assert.True(throughGateway.Count > 1, "a generation streams several messages");
        Assert.Equal(directly.Select(m => m.Text), throughGateway.Select(m => m.Text));
        Assert.Equal(directly.SelectMany(m => m.TokenIds), throughGateway.SelectMany(m => m.TokenIds));
        Assert.Equal(directly[^1].FinishReason, throughGateway[^1].FinishReason);
        Assert.Equal(directly[^1].Usage.CompletionTokens, throughGateway[^1].Usage.CompletionTokens);
    }

    [Fact]
    public async Task A_service_the_gateway_has_no_route_for_is_unimplemented()
    {
        var invoker = mesh.Channel.CreateCallInvoker();
        var method = new Method<Grpc.Health.V1.HealthCheckRequest, Grpc.Health.V1.HealthCheckResponse>(
            MethodType.Unary, "mesh.unknown.v1.Nothing", "Call",
            Marshallers.Create<Grpc.Health.V1.HealthCheckRequest>(r => Google.Protobuf.MessageExtensions.ToByteArray(r), Grpc.Health.V1.HealthCheckRequest.Parser.ParseFrom),
            Marshallers.Create<Grpc.Health.V1.HealthCheckResponse>(r => Google.Protobuf.MessageExtensions.ToByteArray(r), Grpc.Health.V1.HealthCheckResponse.Parser.ParseFrom));

        var failure = await Calls.FailureOf(() => invoker.AsyncUnaryCall(method, null, new CallOptions(mesh.Admin.Metadata), new()).ResponseAsync);

        Assert.Equal(StatusCode.Unimplemented, failure.StatusCode);
    }

    private static async Task<List<InferenceV1.GenerateResponse>> GenerateAsync(
        InferenceV1.InferenceService.InferenceServiceClient client, InferenceV1.GenerateRequest request, Metadata? metadata)
    {
        using var call = client.Generate(request, metadata);
        return await call.ResponseStream.ReadAllAsync().ToListAsync();
    }

    [Fact]
    public async Task The_gateway_answers_grpc_health_itself()
    {
        var health = new Grpc.Health.V1.Health.HealthClient(mesh.Channel);

        var answer = await health.CheckAsync(new());

        Assert.Equal(Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus.Serving, answer.Status);
    }
}
