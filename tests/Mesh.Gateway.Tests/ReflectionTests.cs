using Google.Protobuf;
using Google.Protobuf.Reflection;
using Grpc.Reflection.V1Alpha;
using Mesh.Gateway.Tests.Infrastructure;

namespace Mesh.Gateway.Tests;

/// <summary>Server reflection through the gateway describes the whole mesh, as grpcurl needs.</summary>
[Collection(MeshCollection.Name)]
public sealed class ReflectionTests(MeshFixture mesh)
{
    [Fact]
    public async Task Reflection_through_the_gateway_lists_every_service()
    {
        var services = await AskAsync(new ServerReflectionRequest { ListServices = "" });

        var names = services.ListServicesResponse.Service.Select(s => s.Name).ToList();
        Assert.Contains("mesh.inference.v1.InferenceService", names);
        Assert.Contains("mesh.retrieval.v1.RetrievalService", names);
        Assert.Contains("mesh.guard.v1.GuardService", names);
        Assert.Contains("mesh.assistant.v1.AssistantService", names);
        Assert.Contains("grpc.health.v1.Health", names);
        Assert.Contains("grpc.reflection.v1alpha.ServerReflection", names);
    }

    [Fact]
    public async Task Reflection_through_the_gateway_describes_a_backend_service()
    {
        var answer = await AskAsync(new ServerReflectionRequest { FileContainingSymbol = "mesh.inference.v1.InferenceService" });

        var files = answer.FileDescriptorResponse.FileDescriptorProto
            .Select(bytes => FileDescriptorProto.Parser.ParseFrom(bytes))
            .ToList();
        var service = Assert.Single(files.SelectMany(f => f.Service), s => s.Name == "InferenceService");
        Assert.Contains(service.Method, m => m.Name == "Generate" && m.ServerStreaming);
    }

    [Fact]
    public async Task Reflection_through_the_gateway_describes_the_assistant_with_every_file_it_imports()
    {
        var answer = await AskAsync(new ServerReflectionRequest { FileContainingSymbol = "mesh.assistant.v1.AssistantService" });

        var files = answer.FileDescriptorResponse.FileDescriptorProto
            .Select(bytes => FileDescriptorProto.Parser.ParseFrom(bytes))
            .ToList();
        var service = Assert.Single(files.SelectMany(f => f.Service), s => s.Name == "AssistantService");
        var ask = Assert.Single(service.Method);
        Assert.Equal(("Ask", ".mesh.assistant.v1.AskRequest", true), (ask.Name, ask.InputType, ask.ServerStreaming));

        // A reflection-only client can build every message type: every imported file comes along, transitively.
        var assistant = Assert.Single(files, f => f.Name == "mesh/assistant/v1/assistant.proto");
        Assert.Contains("mesh/retrieval/v1/retrieval.proto", assistant.Dependency);
        Assert.All(files.SelectMany(f => f.Dependency), d => Assert.Contains(files, f => f.Name == d));
    }

    private async Task<ServerReflectionResponse> AskAsync(ServerReflectionRequest request)
    {
        var client = new ServerReflection.ServerReflectionClient(mesh.Channel);
        using var call = client.ServerReflectionInfo();
        await call.RequestStream.WriteAsync(request);
        await call.RequestStream.CompleteAsync();
        Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None));
        return call.ResponseStream.Current;
    }
}
