using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Yarp.ReverseProxy.Configuration;

namespace Mesh.Gateway.Bench;

/// <summary>
/// YARP with nothing of the gateway's around it: one route to one destination over h2c, no
/// authentication, limits, request inspection, metering, access log, transforms or OpenTelemetry
/// listener. What a call costs through it is the floor of what the gateway can cost: the second
/// HTTP/2 hop (Kestrel in, SocketsHttpHandler out) and YARP's forwarding.
/// </summary>
internal static class BareYarp
{
    /// <summary>Builds (does not start) a proxy on a loopback port, forwarding every POST to <paramref name="destination"/>.</summary>
    public static WebApplication CreateApp(Uri destination)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, l => l.Protocols = HttpProtocols.Http2));
        builder.Services.AddReverseProxy().LoadFromMemory(
            [new RouteConfig { RouteId = "all", ClusterId = "upstream", Match = new RouteMatch { Path = "{**path}", Methods = ["POST"] } }],
            [new ClusterConfig
            {
                ClusterId = "upstream",
                HttpRequest = new Yarp.ReverseProxy.Forwarder.ForwarderRequestConfig { Version = HttpVersion.Version20, VersionPolicy = HttpVersionPolicy.RequestVersionExact },
                Destinations = new Dictionary<string, DestinationConfig> { ["r1"] = new() { Address = destination.ToString() } },
            }]);
        var app = builder.Build();
        app.MapReverseProxy();
        return app;
    }
}
