using Grpc.Core;
using Mesh.Gateway.Authentication;
using Mesh.Gateway.GrpcWire;
using Mesh.Gateway.Observability;
using Mesh.Gateway.RateLimiting;
using Microsoft.AspNetCore.Http.Features;

namespace Mesh.Gateway.Metering;

/// <summary>
/// Tokens-per-minute limit for the RPCs that generate (<see cref="GenerationMethods"/>: Inference's
/// Generate and Complete; Tokenize, Score and every other RPC are never charged): admits a call while
/// the key's budget for the minute is not spent, then charges the tokens as the responses stream
/// through (<see cref="GeneratedTokenScanner"/>), the way Envoy AI Gateway meters LLM usage. Failed
/// calls pass through with the service's status untouched (<see cref="ObservedResponseBodyFeature"/>).
/// </summary>
public sealed partial class TokenMeteringMiddleware(
    RequestDelegate next,
    ApiKeyStore keys,
    KeyLimitsRegistry limits,
    GatewayMetrics metrics,
    ILogger<TokenMeteringMiddleware> logger)
{
    /// <summary>Admits a generation call while the key's budget lasts and charges the tokens it streams back.</summary>
    public async Task InvokeAsync(HttpContext context)
    {
        var layout = GenerationMethods.Find(context.Request.Path);
        var key = context.User.GetKeyName() is { } name ? keys.FindByName(name) : null;
        if (layout is null || key is null)
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

        var scanner = new GeneratedTokenScanner(layout, added =>
        {
            budget.Charge(added);
            metrics.GeneratedTokens(key.Name, added);
        });
        var original = context.Features.GetRequiredFeature<IHttpResponseBodyFeature>();
        context.Features.Set<IHttpResponseBodyFeature>(new ObservedResponseBodyFeature(original, scanner.Push));
        try
        {
            await next(context);
        }
        finally
        {
            context.Features.Set(original);
            if (scanner.Corrupt)
            {
                Log.UnreadableResponse(logger, context.Request.Path, scanner.Counted);
            }
        }
    }

    private static partial class Log
    {
        /// <summary>Logs a response the scanner could not read to its end, with the tokens charged so far.</summary>
        [LoggerMessage(Level = LogLevel.Warning, Message = "A response of {Path} is not the protobuf its method returns; metering stopped after {Tokens} tokens")]
        public static partial void UnreadableResponse(ILogger logger, PathString path, long tokens);
    }
}
