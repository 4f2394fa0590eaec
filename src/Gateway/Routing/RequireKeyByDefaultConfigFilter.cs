using Yarp.ReverseProxy.Configuration;

namespace Mesh.Gateway.Routing;

/// <summary>
/// A route that names no authorization policy would forward calls without a key, under the
/// <c>default</c> tenant. Forgetting a line of configuration must not open the mesh, so such routes
/// get the <c>default</c> policy (a known API key); a route that is meant to be open says
/// <c>"AuthorizationPolicy": "anonymous"</c>.
/// </summary>
public sealed class RequireKeyByDefaultConfigFilter : IProxyConfigFilter
{
    /// <inheritdoc/>
    public ValueTask<ClusterConfig> ConfigureClusterAsync(ClusterConfig cluster, CancellationToken cancel) => new(cluster);

    /// <inheritdoc/>
    public ValueTask<RouteConfig> ConfigureRouteAsync(RouteConfig route, ClusterConfig? cluster, CancellationToken cancel) =>
        new(string.IsNullOrEmpty(route.AuthorizationPolicy) ? route with { AuthorizationPolicy = "default" } : route);
}
