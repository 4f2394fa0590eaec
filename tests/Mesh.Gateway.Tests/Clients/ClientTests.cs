using System.Diagnostics;
using System.Text.Json;
using Mesh.Gateway.Tests.Infrastructure;

namespace Mesh.Gateway.Tests.Clients;

/// <summary>
/// Python and Node call the mesh through the gateway with nothing but protos/: a streamed Generate,
/// a collection created, filled and searched, a Guard check, and errors seen as gRPC statuses.
/// </summary>
[Collection(MeshCollection.Name)]
public sealed class ClientTests(MeshFixture mesh)
{
    [PythonClientFact]
    public void Python_client_with_stubs_generated_by_protoc_calls_every_service_through_the_gateway()
    {
        var stubs = Directory.CreateTempSubdirectory("mesh-python-stubs-").FullName;
        try
        {
            var (code, _, stderr) = ExternalClient.RunToEnd(
                new ProcessStartInfo(Path.Combine(RepoPaths.Root, "clients", "python", "generate.sh")) { ArgumentList = { stubs } },
                TimeSpan.FromMinutes(1));
            Assert.True(code == 0, $"generate.sh failed: {stderr}");

            var seen = ExternalClient.Run(
                "/usr/bin/python3", [Path.Combine(RepoPaths.Root, "clients", "python", "mesh_client.py")],
                mesh.Gateway.Address, mesh.Admin.Secret, new Dictionary<string, string> { ["PYTHONPATH"] = stubs });

            AssertSawTheMesh(seen);
        }
        finally
        {
            Directory.Delete(stubs, recursive: true);
        }
    }

    [NodeClientFact]
    public void Node_client_with_grpc_js_and_proto_loader_calls_every_service_through_the_gateway()
    {
        var seen = ExternalClient.Run(
            "node", [Path.Combine(RepoPaths.Root, "clients", "node", "mesh-client.js")], mesh.Gateway.Address, mesh.Admin.Secret);

        AssertSawTheMesh(seen);
    }

    private static void AssertSawTheMesh(JsonElement seen)
    {
        Assert.True(seen.GetProperty("generate_messages").GetInt32() >= 1);
        Assert.False(string.IsNullOrWhiteSpace(seen.GetProperty("generate_text").GetString()));
        Assert.Contains(seen.GetProperty("finish_reason").GetString(), new[] { "FINISH_REASON_LENGTH", "FINISH_REASON_EOS", "FINISH_REASON_STOP" });
        Assert.Equal([2UL, 1UL], seen.GetProperty("search_ids").EnumerateArray().Select(e => e.GetUInt64()));
        Assert.Equal("ACTION_REDACT", seen.GetProperty("check_verdict").GetString());
        Assert.Contains("<EMAIL_ADDRESS>", seen.GetProperty("check_redacted").GetString(), StringComparison.Ordinal);
        Assert.Equal("NOT_FOUND", seen.GetProperty("unknown_model").GetString());
        Assert.Equal("UNAUTHENTICATED", seen.GetProperty("no_key").GetString());
    }
}
