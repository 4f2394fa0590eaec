using System.Threading.RateLimiting;
using Grpc.Core;
using Mesh.Gateway.Authentication;
using Mesh.Gateway.GrpcWire;
using Mesh.Gateway.Observability;

namespace Mesh.Gateway.RateLimiting;

/// <summary>
/// Calls per second and concurrent calls per API key. Refused calls get RESOURCE_EXHAUSTED with a
/// <c>retry-after-ms</c> trailer where the limiter can say when a retry will pass.
/// </summary>
public sealed class KeyRateLimitMiddleware(RequestDelegate next, ApiKeyStore keys, KeyLimitsRegistry registry, GatewayMetrics metrics)
{
    /// <summary>Admits the call under the key's calls/s and open-stream limits, or refuses it with RESOURCE_EXHAUSTED and <c>retry-after-ms</c>.</summary>
    public async Task InvokeAsync(HttpContext context)
    {
        var key = context.User.GetKeyName() is { } name ? keys.FindByName(name) : null;
        if (key is null)
        {
            await next(context);
            return;
        }

        var limits = registry.For(key);
        using (var request = limits.Requests.AttemptAcquire())
        {
            if (!request.IsAcquired)
            {
                metrics.RateLimited(key.Name, "requests_per_second");
                var retryAfter = request.TryGetMetadata(MetadataName.RetryAfter, out var after) ? after : TimeSpan.FromSeconds(1);
                await GrpcError.WriteAsync(context, StatusCode.ResourceExhausted,
                    $"API key '{key.Name}' is limited to {key.Options.RequestsPerSecond} calls per second; retry after {retryAfter.TotalMilliseconds:F0} ms.",
                    retryAfter);
                return;
            }
        }

        using var stream = limits.Streams.AttemptAcquire();
        if (!stream.IsAcquired)
        {
            metrics.RateLimited(key.Name, "concurrent_streams");
            await GrpcError.WriteAsync(context, StatusCode.ResourceExhausted,
                $"API key '{key.Name}' already has {key.Options.MaxConcurrentStreams} calls open, the most it may; retry when one ends.");
            return;
        }

        await next(context);
    }
}
