using System.Text.Json;
using Mesh.Gateway.Tests.Infrastructure;

namespace Mesh.Gateway.Tests.Clients;

/// <summary>
/// What grpcurl does through the gateway, from server reflection alone (clients/python/mesh_reflect.py
/// has no .proto file and no generated stub): list the services, describe a method, call it with a
/// JSON request built from the reflected descriptors, including a file that imports another.
/// </summary>
[Collection(MeshCollection.Name)]
public sealed class ReflectionClientTests(MeshFixture mesh)
{
    private static readonly string Tool = Path.Combine(RepoPaths.Root, "clients", "python", "mesh_reflect.py");

    [PythonClientFact]
    public void Lists_describes_and_calls_by_JSON_with_nothing_but_reflection()
    {
        var services = Reflect("list").Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.Contains("mesh.guard.v1.GuardService", services);
        Assert.Contains("mesh.inference.v1.InferenceService", services);
        Assert.Contains("mesh.retrieval.v1.RetrievalService", services);

        var described = JsonDocument.Parse(Reflect("describe", "mesh.guard.v1.GuardService.Check")).RootElement;
        var request = described.GetProperty("request").GetProperty("mesh.guard.v1.CheckRequest");
        Assert.Equal("mesh.guard.v1.Stage", request.GetProperty("stage").GetString());
        Assert.Equal(9, request.GetProperty("text").GetInt32());   // TYPE_STRING

        var checkedText = JsonDocument.Parse(Reflect("call", "mesh.guard.v1.GuardService/Check",
            """{"stage":"STAGE_OUTPUT","text":"Mail jane.doe@example.com"}""")).RootElement;
        Assert.Equal("ACTION_REDACT", checkedText.GetProperty("verdict").GetString());
        Assert.DoesNotContain("jane.doe@example.com", checkedText.GetProperty("redactedText").GetString(), StringComparison.Ordinal);

        // retrieval.proto imports google/protobuf/struct.proto: the dependency is fetched by reflection too.
        var described2 = JsonDocument.Parse(Reflect("describe", "mesh.retrieval.v1.RetrievalService.Search")).RootElement;
        Assert.True(described2.GetProperty("request").GetProperty("mesh.retrieval.v1.SearchRequest").TryGetProperty("filter", out _));
        var tokens = JsonDocument.Parse(Reflect("call", "mesh.inference.v1.InferenceService/Tokenize",
            """{"model":"stories260K","text":"Once upon a time"}""")).RootElement;
        Assert.True(tokens.GetProperty("tokenIds").GetArrayLength() > 0);
    }

    private string Reflect(params string[] args) =>
        ExternalClient.RunText("/usr/bin/python3", [Tool, .. args], mesh.Gateway.Address, mesh.Admin.Secret);
}
