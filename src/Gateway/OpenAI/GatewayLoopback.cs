using Grpc.Core;
using Grpc.Net.Client;
using Mesh.Gateway.Observability;
using Mesh.ServiceDefaults;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;

namespace Mesh.Gateway.OpenAI;

/// <summary>
/// The gRPC channel the OpenAI API calls the services through: the gateway's own gRPC endpoint on
/// loopback. Each OpenAI request thus passes the very pipeline a gRPC caller's does (API key
/// authentication, calls per second and concurrent calls, model permissions, generated tokens per
/// minute, tenant signing, route deadlines, load balancing and health checks over the cluster's
/// destinations) with no second implementation of any of it. The caller's <c>authorization</c>
/// header and the request id travel as metadata.
/// </summary>
public sealed class GatewayLoopback(IServer server) : IDisposable
{
    private readonly Lazy<GrpcChannel> _channel = new(() => Create(server));

    /// <summary>A call invoker on the gateway's own gRPC endpoint.</summary>
    public CallInvoker Invoker => _channel.Value.CreateCallInvoker();

    /// <summary>The metadata of an upstream call made for this HTTP request.</summary>
    public static Metadata MetadataFor(HttpContext context)
    {
        var metadata = new Metadata { { RequestIds.HeaderName, context.TraceIdentifier } };
        if (context.Request.Headers.Authorization.ToString() is { Length: > 0 } authorization)
        {
            metadata.Add("authorization", authorization);
        }

        return metadata;
    }

    private static GrpcChannel Create(IServer server)
    {
        // The gRPC endpoint is configured first (MeshServiceDefaults), so it is the first bound address.
        var bound = server.Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault()
            ?? throw new InvalidOperationException("The gateway has no bound gRPC address yet.");
        var address = new UriBuilder(bound.Replace("[::]", "127.0.0.1", StringComparison.Ordinal)
            .Replace("0.0.0.0", "127.0.0.1", StringComparison.Ordinal)).Uri;
        var handler = new SocketsHttpHandler { EnableMultipleHttp2Connections = true };
        if (address.Scheme == Uri.UriSchemeHttps)
        {
            // The listener is this process's own: its certificate need not name the loopback address.
            handler.SslOptions.RemoteCertificateValidationCallback = (_, _, _, _) => true;
        }

        return GrpcChannel.ForAddress(address, new GrpcChannelOptions { HttpHandler = handler, MaxReceiveMessageSize = null });
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        if (_channel.IsValueCreated)
        {
            _channel.Value.Dispose();
        }
    }
}
