using System.Diagnostics;
using Mesh.Gateway.Authentication;
using Mesh.Gateway.GrpcWire;
using Yarp.ReverseProxy.Model;

namespace Mesh.Gateway.Observability;

/// <summary>
/// Outermost middleware: gives every gRPC call a request id (returned to the caller and passed to the
/// service), then writes one structured access log line and one metric per call with the outcome,
/// including calls the gateway itself refused.
/// </summary>
public sealed partial class AccessLogMiddleware(RequestDelegate next, GatewayMetrics metrics, GrpcMethodCatalog catalog, ILogger<AccessLogMiddleware> logger)
{
    /// <summary>
    /// The <c>rpc.method</c> of calls to methods neither the contracts nor gRPC's health and reflection
    /// services declare (OTel's name for a value outside the known set). Any path a caller sends would
    /// otherwise become a metric series of its own: unbounded cardinality, and once the SDK's limit
    /// (2,000 series per metric) is reached, real methods' series are dropped.
    /// </summary>
    public const string OtherMethod = "_OTHER";

    private static readonly HashSet<string> PlatformMethods = new(StringComparer.Ordinal)
    {
        "/grpc.health.v1.Health/Check",
        "/grpc.health.v1.Health/Watch",
        "/grpc.health.v1.Health/List",
        "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
        "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
    };

    /// <summary>Assigns the request id, runs the call, then logs and counts its outcome.</summary>
    public async Task InvokeAsync(HttpContext context)
    {
        if (context.Request.ContentType?.StartsWith("application/grpc", StringComparison.Ordinal) != true)
        {
            await next(context);
            return;
        }

        var started = Stopwatch.GetTimestamp();
        var requestId = RequestIds.FromOrNew(context);
        context.TraceIdentifier = requestId; // TenancyTransformProvider sends it to the service
        context.Response.Headers[RequestIds.HeaderName] = requestId;
        // Only on a span that is recorded: with tracing off the activity only carries the trace context,
        // and a tag on it would be an allocation per call that nothing reads.
        if (Activity.Current is { IsAllDataRequested: true } activity)
        {
            activity.SetTag("mesh.request_id", requestId);
        }

        try
        {
            await next(context);
        }
        finally
        {
            var elapsed = Stopwatch.GetElapsedTime(started);
            var status = GrpcError.ReadStatus(context)?.ToString()
                ?? (context.RequestAborted.IsCancellationRequested ? "Cancelled" : $"HTTP {context.Response.StatusCode}");
            var proxy = context.Features.Get<IReverseProxyFeature>();
            // The route is known from the endpoint even for calls refused before YARP forwards them.
            var route = context.GetEndpoint()?.Metadata.GetMetadata<RouteModel>()?.Config.RouteId ?? "gateway";
            var method = context.Request.Path.Value ?? "";
            var known = catalog.Find(context.Request.Path) is not null || PlatformMethods.Contains(method);
            metrics.CallCompleted(route, known ? method : OtherMethod, status, elapsed);
            Log.Call(logger, requestId, method, status, elapsed.TotalMilliseconds, route,
                proxy?.ProxiedDestination?.DestinationId, context.User.GetKeyName(), context.User.GetTenant());
        }
    }

    private static partial class Log
    {
        /// <summary>The access log line of one call.</summary>
        [LoggerMessage(EventId = 1, EventName = "AccessLog", Level = LogLevel.Information,
            Message = "{RequestId} {Method} {GrpcStatus} in {ElapsedMs:F1} ms via {Route} to {Destination} for key {Key} tenant {Tenant}")]
        public static partial void Call(ILogger logger, string requestId, string method, string grpcStatus, double elapsedMs,
            string route, string? destination, string? key, string? tenant);
    }
}
