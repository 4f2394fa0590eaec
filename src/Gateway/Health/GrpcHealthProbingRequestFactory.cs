using Google.Protobuf;
using Grpc.Health.V1;
using Mesh.Gateway.GrpcWire;
using Yarp.ReverseProxy.Health;
using Yarp.ReverseProxy.Model;

namespace Mesh.Gateway.Health;

/// <summary>
/// Makes YARP's active health probes real <c>grpc.health.v1.Health/Check</c> calls (HTTP/2 POST with
/// a framed HealthCheckRequest) instead of HTTP GETs, so a replica is judged by the same protocol that
/// Kubernetes' gRPC probes use. The cluster's HealthCheck:Active:Path is not used.
/// </summary>
public sealed class GrpcHealthProbingRequestFactory : IProbingRequestFactory
{
    /// <inheritdoc/>
    public HttpRequestMessage CreateRequest(ClusterModel cluster, DestinationModel destination)
    {
        var address = destination.Config.Health is { Length: > 0 } health ? health : destination.Config.Address;
        var service = cluster.Config.Metadata?.GetValueOrDefault(GrpcHealthProbe.ServiceMetadataKey) ?? "";
        var request = new HttpRequestMessage(HttpMethod.Post, new Uri(new Uri(address), "/grpc.health.v1.Health/Check"))
        {
            Version = cluster.Config.HttpRequest?.Version ?? System.Net.HttpVersion.Version20,
            VersionPolicy = cluster.Config.HttpRequest?.VersionPolicy ?? HttpVersionPolicy.RequestVersionExact,
            Content = new ByteArrayContent(GrpcFrame.Encode(new HealthCheckRequest { Service = service }.ToByteArray())),
        };
        request.Content.Headers.ContentType = new("application/grpc");
        request.Headers.TE.ParseAdd("trailers");
        request.Options.Set(GrpcHealthProbe.IsProbe, true);
        return request;
    }
}
