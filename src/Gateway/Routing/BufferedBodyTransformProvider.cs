using Mesh.Gateway.Authorization;
using Microsoft.AspNetCore.Http.Features;
using Yarp.ReverseProxy.Transforms;
using Yarp.ReverseProxy.Transforms.Builder;

namespace Mesh.Gateway.Routing;

/// <summary>
/// Marks a forwarded request whose body <see cref="ResourceAuthorizationMiddleware"/> has read into
/// memory, so that <see cref="BufferedRequestSendHandler"/> sends it without a flush per frame.
/// </summary>
public sealed class BufferedBodyTransformProvider : ITransformProvider
{
    /// <inheritdoc/>
    public void ValidateRoute(TransformRouteValidationContext context)
    {
    }

    /// <inheritdoc/>
    public void ValidateCluster(TransformClusterValidationContext context)
    {
    }

    /// <inheritdoc/>
    public void Apply(TransformBuilderContext context) => context.AddRequestTransform(static transform =>
    {
        if (transform.HttpContext.Features.Get<IHttpMaxRequestBodySizeFeature>() is BufferedRequestBodySizeFeature)
        {
            transform.ProxyRequest.Options.Set(BufferedRequestSendHandler.BodyBuffered, true);
        }

        return ValueTask.CompletedTask;
    });
}
