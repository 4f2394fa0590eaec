namespace Mesh.Gateway.Health;

/// <summary>
/// YARP hands a probe's response to the health policy as soon as its headers arrive, and the policy
/// is synchronous; a gRPC health answer is in the body and trailers. This handler reads probe
/// responses to the end asynchronously first, so the policy only reads memory. Proxied calls pass
/// straight through.
/// </summary>
public sealed class ProbeResponseBufferingHandler(HttpMessageHandler inner) : DelegatingHandler(inner)
{
    /// <inheritdoc/>
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var response = await base.SendAsync(request, cancellationToken);
        if (request.Options.TryGetValue(GrpcHealthProbe.IsProbe, out var isProbe) && isProbe)
        {
            await response.Content.LoadIntoBufferAsync(cancellationToken);
        }

        return response;
    }
}
