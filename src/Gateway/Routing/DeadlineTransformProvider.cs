using Mesh.Gateway.GrpcWire;
using Yarp.ReverseProxy.Transforms;
using Yarp.ReverseProxy.Transforms.Builder;

namespace Mesh.Gateway.Routing;

/// <summary>
/// Per-route deadlines: a route's <c>Metadata</c> entry <c>Mesh.Deadline</c> (a TimeSpan, e.g.
/// <c>00:02:00</c>) caps the <c>grpc-timeout</c> sent to the service. A caller may ask for less, never
/// more; a call without a deadline gets the route's. The service then ends the call with
/// DEADLINE_EXCEEDED itself, which is how gRPC deadlines are meant to propagate.
/// </summary>
public sealed class DeadlineTransformProvider : ITransformProvider
{
    /// <summary>The route metadata key holding the longest deadline (a TimeSpan) the route allows.</summary>
    public const string MetadataKey = "Mesh.Deadline";

    /// <inheritdoc/>
    public void ValidateRoute(TransformRouteValidationContext context)
    {
        if (context.Route.Metadata?.TryGetValue(MetadataKey, out var value) == true && !TryParse(value, out _))
        {
            context.Errors.Add(new ArgumentException(
                $"Route '{context.Route.RouteId}': metadata {MetadataKey} must be a positive TimeSpan such as 00:02:00, not '{value}'."));
        }
    }

    /// <inheritdoc/>
    public void ValidateCluster(TransformClusterValidationContext context)
    {
    }

    /// <inheritdoc/>
    public void Apply(TransformBuilderContext context)
    {
        if (context.Route.Metadata?.TryGetValue(MetadataKey, out var value) != true || !TryParse(value, out var routeDeadline))
        {
            return;
        }

        context.AddRequestTransform(transform =>
        {
            var deadline = Effective(transform.HttpContext.Request, routeDeadline);
            transform.ProxyRequest.Headers.Remove(GrpcTimeout.HeaderName);
            transform.ProxyRequest.Headers.TryAddWithoutValidation(GrpcTimeout.HeaderName, GrpcTimeout.Format(deadline));
            return ValueTask.CompletedTask;
        });
    }

    /// <summary>
    /// The deadline a call gets on a route: the caller's <c>grpc-timeout</c> when it is shorter than the
    /// route's <see cref="MetadataKey"/>, otherwise the route's; null when the route sets none.
    /// </summary>
    public static TimeSpan? For(HttpRequest request, IReadOnlyDictionary<string, string>? routeMetadata) =>
        routeMetadata?.TryGetValue(MetadataKey, out var value) == true && TryParse(value, out var routeDeadline)
            ? Effective(request, routeDeadline)
            : null;

    private static TimeSpan Effective(HttpRequest request, TimeSpan routeDeadline) =>
        GrpcTimeout.TryParse(request.Headers[GrpcTimeout.HeaderName].ToString(), out var asked) && asked < routeDeadline ? asked : routeDeadline;

    private static bool TryParse(string? value, out TimeSpan deadline) =>
        TimeSpan.TryParse(value, System.Globalization.CultureInfo.InvariantCulture, out deadline) && deadline > TimeSpan.Zero;
}
