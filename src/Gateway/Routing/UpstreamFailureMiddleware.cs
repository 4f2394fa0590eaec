using Grpc.Core;
using Mesh.Gateway.GrpcWire;
using Microsoft.AspNetCore.Http.Features;
using Yarp.ReverseProxy.Forwarder;
using Yarp.ReverseProxy.Model;

namespace Mesh.Gateway.Routing;

/// <summary>
/// Ends a forwarded gRPC call with the status a caller can act on when the replica behind it fails or
/// does not answer, instead of what YARP does for any HTTP request:
/// <list type="bullet">
/// <item>The replica fails before its response (connection refused or lost, no healthy replica): YARP
/// answers HTTP 502/503, which gRPC clients report as "Bad gRPC response. HTTP status code: 502". Here:
/// UNAVAILABLE, trailers-only, naming the service and what happened.</item>
/// <item>The replica dies mid-stream (SIGKILL, node lost): YARP resets the stream with CANCEL, which
/// clients report as CANCELLED, as if the caller had given up. Here: the messages already relayed stay
/// delivered and the stream ends with UNAVAILABLE trailers, when it is between two messages (a reset
/// is the only honest end of a half-sent message, so then the reset stands).</item>
/// <item>The replica does not answer within the call's deadline (the caller's <c>grpc-timeout</c>
/// capped by the route's, <see cref="DeadlineTransformProvider"/>): a live service ends the call with
/// DEADLINE_EXCEEDED itself, but a hung, overloaded or partitioned one cannot, and YARP would wait for
/// its activity timeout (100 s; 5 min for Inference). Here the gateway cancels the forwarded call
/// <see cref="DeadlineGrace"/> after the deadline (so a live service's own status wins) and ends the
/// call with DEADLINE_EXCEEDED.</item>
/// </list>
/// A caller that went away is left alone (YARP's reset stands). Runs first in the proxy pipeline.
/// </summary>
public sealed partial class UpstreamFailureMiddleware(RequestDelegate next, ILogger<UpstreamFailureMiddleware> logger)
{
    /// <summary>How long after a call's deadline the gateway gives up on a replica that has not ended it.</summary>
    public static readonly TimeSpan DeadlineGrace = TimeSpan.FromSeconds(1);

    /// <summary>Forwards the call and translates a replica's failure or silence into a gRPC status.</summary>
    public async Task InvokeAsync(HttpContext context)
    {
        if (context.Request.ContentType?.StartsWith("application/grpc", StringComparison.OrdinalIgnoreCase) != true)
        {
            await next(context);
            return;
        }

        var route = context.Features.Get<IReverseProxyFeature>()?.Route.Config;
        var service = route?.ClusterId ?? "upstream";
        var deadline = DeadlineTransformProvider.For(context.Request, route?.Metadata);

        var lifetime = context.Features.GetRequiredFeature<IHttpRequestLifetimeFeature>();
        var body = context.Features.GetRequiredFeature<IHttpResponseBodyFeature>();
        var reset = context.Features.Get<IHttpResetFeature>();
        var frames = new GrpcFrameParser(0, static _ => { });
        var deferredReset = new DeferredResetFeature();
        using var deadlineTimer = deadline is { } d ? new CancellationTokenSource(d + DeadlineGrace) : null;
        using var aborted = deadlineTimer is null ? null : CancellationTokenSource.CreateLinkedTokenSource(lifetime.RequestAborted, deadlineTimer.Token);
        context.Features.Set<IHttpResponseBodyFeature>(new ObservedResponseBodyFeature(body, frames.Push));
        context.Features.Set<IHttpResetFeature>(deferredReset);
        if (aborted is not null)
        {
            // YARP cancels the forwarded call on RequestAborted: linking the deadline to it stops the call to the replica too.
            context.Features.Set<IHttpRequestLifetimeFeature>(new LifetimeWithDeadline(lifetime, aborted.Token));
        }

        try
        {
            await next(context);
        }
        finally
        {
            context.Features.Set(body);
            context.Features.Set(reset);
            context.Features.Set(lifetime);
        }

        var failure = Translate(context, service, deadline, deadlineTimer?.IsCancellationRequested == true, lifetime.RequestAborted.IsCancellationRequested);
        if (failure is not var (status, message))
        {
            deferredReset.ApplyTo(reset, context);
            return;
        }

        Log.UpstreamFailed(logger, context.Request.Path, status, message);
        if (!context.Response.HasStarted)
        {
            context.Response.Clear();
            await GrpcError.WriteAsync(context, status, message);
        }
        else if (frames.AtMessageBoundary && !frames.Corrupt && context.Features.Get<IHttpResponseTrailersFeature>() is { } trailers)
        {
            trailers.Trailers["grpc-status"] = ((int)status).ToString(System.Globalization.CultureInfo.InvariantCulture);
            trailers.Trailers["grpc-message"] = GrpcError.EncodeMessage(message);
        }
        else
        {
            deferredReset.ApplyTo(reset, context);
        }
    }

    private static (StatusCode Status, string Message)? Translate(HttpContext context, string service, TimeSpan? deadline, bool deadlinePassed, bool callerGone)
    {
        if (callerGone)
        {
            return null;
        }

        if (deadlinePassed)
        {
            return (StatusCode.DeadlineExceeded, $"the {service} service did not answer within the call's deadline of {deadline!.Value.TotalSeconds:0.###} s " +
                "(the caller's grpc-timeout, capped by the gateway's route); the gateway cancelled the call");
        }

        return context.Features.Get<IForwarderErrorFeature>()?.Error switch
        {
            ForwarderError.NoAvailableDestinations => (StatusCode.Unavailable, $"no healthy {service} replica is available; retry later"),
            ForwarderError.Request or ForwarderError.ResponseHeaders or ForwarderError.RequestBodyDestination => (StatusCode.Unavailable,
                $"the {service} replica failed before answering (connection refused or lost)"),
            ForwarderError.RequestTimedOut => (StatusCode.Unavailable, $"the {service} replica did not send response headers within the gateway's activity timeout"),
            ForwarderError.ResponseBodyDestination => (StatusCode.Unavailable,
                $"the {service} replica failed while streaming its response (connection lost); the messages before this were delivered, the rest were not"),
            _ => null,
        };
    }

    /// <summary>Keeps YARP's reset of the client stream until the middleware knows it cannot end the call with a status instead.</summary>
    private sealed class DeferredResetFeature : IHttpResetFeature
    {
        private int? _errorCode;

        public void Reset(int errorCode) => _errorCode = errorCode;

        public void ApplyTo(IHttpResetFeature? inner, HttpContext context)
        {
            if (_errorCode is not { } code)
            {
                return;
            }

            if (inner is not null)
            {
                inner.Reset(code);
            }
            else
            {
                context.Abort();
            }
        }
    }

    /// <summary>The request's lifetime with RequestAborted also firing at the call's deadline.</summary>
    private sealed class LifetimeWithDeadline(IHttpRequestLifetimeFeature inner, CancellationToken aborted) : IHttpRequestLifetimeFeature
    {
        public CancellationToken RequestAborted { get => aborted; set => throw new NotSupportedException(); }

        public void Abort() => inner.Abort();
    }

    private static partial class Log
    {
        [LoggerMessage(Level = LogLevel.Warning, Message = "{Path} ended {Status}: {Detail}")]
        public static partial void UpstreamFailed(ILogger logger, PathString path, StatusCode status, string detail);
    }
}
