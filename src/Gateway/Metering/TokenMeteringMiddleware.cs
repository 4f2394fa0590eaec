using Google.Protobuf;
using Grpc.Core;
using Mesh.Gateway.Authentication;
using Mesh.Gateway.GrpcWire;
using Mesh.Gateway.Observability;
using Mesh.Gateway.RateLimiting;

namespace Mesh.Gateway.Metering;

/// <summary>
/// Tokens-per-minute limit for calls whose responses report generated tokens (Inference's Generate and
/// Complete): admits a call while the key's budget for the minute is not spent, then charges the
/// tokens as the responses stream through, the way Envoy AI Gateway meters LLM usage.
/// </summary>
public sealed partial class TokenMeteringMiddleware(
    RequestDelegate next,
    GrpcMethodCatalog catalog,
    ApiKeyStore keys,
    KeyLimitsRegistry limits,
    GatewayMetrics metrics,
    ILogger<TokenMeteringMiddleware> logger)
{
    // Responses are parsed only to count tokens; a message larger than this is passed on uncounted
    // except through the usage of a later message.
    private const int MaxMeteredMessageBytes = 4 * 1024 * 1024;

    public async Task InvokeAsync(HttpContext context)
    {
        var method = catalog.Find(context.Request.Path);
        var counter = method is null ? null : GeneratedTokenCounter.For(method.OutputType);
        var key = context.User.GetKeyName() is { } name ? keys.FindByName(name) : null;
        if (counter is null || key is null)
        {
            await next(context);
            return;
        }

        var budget = limits.For(key).Tokens;
        if (!budget.TryAdmit(out var retryAfter))
        {
            metrics.RateLimited(key.Name, "tokens_per_minute");
            await GrpcError.WriteAsync(context, StatusCode.ResourceExhausted,
                $"API key '{key.Name}' has used its {budget.TokensPerMinute} generated tokens per minute; retry after {retryAfter.TotalSeconds:F0} s.",
                retryAfter);
            return;
        }

        // Ask the service for uncompressed responses: the gateway must read them to count tokens.
        context.Request.Headers.Remove("grpc-accept-encoding");

        long counted = 0;
        var parser = new GrpcFrameParser(MaxMeteredMessageBytes, message =>
        {
            if (message.Skipped || message.Compressed)
            {
                return;
            }

            try
            {
                var added = counter.Count(message.Payload.Span, counted);
                counted += added;
                budget.Charge(added);
                metrics.GeneratedTokens(key.Name, added);
            }
            catch (InvalidProtocolBufferException ex)
            {
                Log.UnreadableResponse(logger, context.Request.Path, ex);
            }
        });

        var original = context.Response.Body;
        context.Response.Body = new MeteringResponseStream(original, parser);
        try
        {
            await next(context);
        }
        finally
        {
            context.Response.Body = original;
        }
    }

    private static partial class Log
    {
        [LoggerMessage(Level = LogLevel.Warning, Message = "A response of {Path} could not be parsed to count its tokens")]
        public static partial void UnreadableResponse(ILogger logger, PathString path, Exception exception);
    }
}
