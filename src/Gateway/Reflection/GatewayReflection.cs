using Grpc.Reflection;
using Mesh.Gateway.GrpcWire;
using Yarp.ReverseProxy;

namespace Mesh.Gateway.Reflection;

/// <summary>
/// Server reflection for the whole mesh, answered by the gateway itself: the gateway's own services
/// (health, reflection, <c>mesh.assistant.v1.AssistantService</c>) plus every contract service that a
/// configured route forwards. The
/// descriptors are the ones compiled into Mesh.Contracts from the same protos the services build
/// from, so <c>grpcurl gateway list/describe</c> works without the gateway calling the services, and
/// without a service that happens to be down disappearing from the listing.
/// </summary>
public static class GatewayReflection
{
    /// <summary>The reflection service answering for the routed services and the gateway's own.</summary>
    public static ReflectionServiceImpl Create(IServiceProvider services)
    {
        var catalog = services.GetRequiredService<GrpcMethodCatalog>();
        var routePaths = services.GetRequiredService<IProxyStateLookup>().GetRoutes()
            .Select(r => r.Config.Match.Path)
            .OfType<string>()
            .ToList();

        var descriptors = catalog.Services.Where(s => routePaths.Any(path => RouteSelects(path, s.FullName)))
            .Append(Mesh.Assistant.V1.AssistantService.Descriptor)
            .Append(Grpc.Health.V1.Health.Descriptor)
            .Append(Grpc.Reflection.V1Alpha.ServerReflection.Descriptor)
            .DistinctBy(s => s.FullName);
        return new ReflectionServiceImpl(descriptors);
    }

    /// <summary>
    /// Whether a route path selects a service: <c>/mesh.guard.v1.GuardService/{**method}</c> selects that
    /// one service, <c>/mesh.guard.v1.{service}/{**method}</c> every service of the package.
    /// </summary>
    public static bool RouteSelects(string routePath, string serviceFullName)
    {
        if (routePath is not { Length: > 1 } || routePath[0] != '/')
        {
            return false;
        }

        var end = routePath.IndexOf('/', 1);
        var segment = end < 0 ? routePath[1..] : routePath[1..end];
        var parameter = segment.IndexOf('{', StringComparison.Ordinal);
        return parameter < 0
            ? string.Equals(segment, serviceFullName, StringComparison.Ordinal)
            : parameter > 0 && serviceFullName.StartsWith(segment[..parameter], StringComparison.Ordinal);
    }
}
