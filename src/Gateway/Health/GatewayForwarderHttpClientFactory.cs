using Mesh.Gateway.Routing;
using Yarp.ReverseProxy.Forwarder;

namespace Mesh.Gateway.Health;

/// <summary>
/// YARP's client factory, with <see cref="ProbeResponseBufferingHandler"/> and
/// <see cref="BufferedRequestSendHandler"/> around each cluster's handler.
/// </summary>
public sealed class GatewayForwarderHttpClientFactory(ILogger<ForwarderHttpClientFactory> logger) : ForwarderHttpClientFactory(logger)
{
    /// <inheritdoc/>
    protected override HttpMessageHandler WrapHandler(ForwarderHttpClientContext context, HttpMessageHandler handler) =>
        new ProbeResponseBufferingHandler(new BufferedRequestSendHandler(base.WrapHandler(context, handler)));
}
