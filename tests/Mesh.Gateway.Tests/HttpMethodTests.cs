using System.Net;
using Mesh.Gateway.GrpcWire;
using Mesh.Gateway.Tests.Infrastructure;

namespace Mesh.Gateway.Tests;

/// <summary>
/// gRPC is POST only. Any other HTTP method sent to a gRPC path, on every host and through the
/// gateway, is refused by routing (404/405) and never reaches a handler, as with stock grpc-dotnet.
/// </summary>
[Collection(MeshCollection.Name)]
public sealed class HttpMethodTests(MeshFixture mesh)
{
    public static TheoryData<string, string, string> Cases()
    {
        var data = new TheoryData<string, string, string>();
        var paths = new Dictionary<string, string[]>
        {
            ["inference"] = ["/mesh.inference.v1.InferenceService/ListModels", "/grpc.health.v1.Health/Check"],
            ["retrieval"] = ["/mesh.retrieval.v1.RetrievalService/ListCollections", "/grpc.health.v1.Health/Check"],
            ["guard"] = ["/mesh.guard.v1.GuardService/ListPolicies", "/grpc.health.v1.Health/Check"],
            ["gateway"] = ["/mesh.inference.v1.InferenceService/ListModels", "/grpc.health.v1.Health/Check"],
        };
        foreach (var (host, hostPaths) in paths)
        {
            foreach (var path in hostPaths)
            {
                foreach (var method in new[] { "GET", "PUT", "DELETE" })
                {
                    data.Add(host, path, method);
                }
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task A_non_POST_request_to_a_gRPC_method_is_refused_by_routing_and_no_handler_runs(string host, string path, string method)
    {
        var address = host switch
        {
            "inference" => mesh.Inference.Address,
            "retrieval" => mesh.Retrieval.Address,
            "guard" => mesh.Guard.Address,
            _ => mesh.Gateway.Address,
        };
        using var client = new HttpClient();

        using var refused = await client.SendAsync(Request(new HttpMethod(method), address, path));
        using var accepted = await client.SendAsync(Request(HttpMethod.Post, address, path));

        // Routing refuses it (404 or 405, as stock grpc-dotnet; no handler, so no gRPC status).
        Assert.Contains(refused.StatusCode, new[] { HttpStatusCode.NotFound, HttpStatusCode.MethodNotAllowed });
        Assert.False(refused.Headers.Contains("grpc-status"), "no gRPC handler answered");
        Assert.True(accepted.StatusCode == HttpStatusCode.OK, $"{accepted} {await accepted.Content.ReadAsStringAsync()}");
        Assert.Equal("0", accepted.TrailingHeaders.TryGetValues("grpc-status", out var s) ? s.Single()
            : accepted.Headers.GetValues("grpc-status").Single());
    }

    private HttpRequestMessage Request(HttpMethod method, Uri address, string path)
    {
        // h2c with prior knowledge, as curl --http2-prior-knowledge sends it.
        var request = new HttpRequestMessage(method, new Uri(address, path))
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = new ByteArrayContent(GrpcFrame.Encode([])),
        };
        request.Content.Headers.ContentType = new("application/grpc");
        request.Headers.TryAddWithoutValidation("te", "trailers");
        request.Headers.TryAddWithoutValidation("authorization", $"Bearer {mesh.Admin.Secret}");
        return request;
    }
}
