using System.Globalization;
using Grpc.Core;

namespace Mesh.Gateway.GrpcWire;

/// <summary>
/// Writes a gRPC error the way a gRPC server does when it fails a call before sending any message: a
/// "trailers-only" response (HTTP 200, <c>grpc-status</c> and <c>grpc-message</c> in the headers).
/// Every gRPC client turns it into an <see cref="RpcException"/> with that status.
/// </summary>
public static class GrpcError
{
    /// <summary>Trailer with the number of milliseconds after which a retry may succeed (the Mesh convention).</summary>
    public const string RetryAfterMsHeader = "retry-after-ms";

    /// <summary>Ends the call with a trailers-only gRPC error: <paramref name="status"/>, the message percent-encoded as the gRPC spec requires, and <c>retry-after-ms</c> when <paramref name="retryAfter"/> is given. A response already started is aborted instead.</summary>
    public static Task WriteAsync(HttpContext context, StatusCode status, string message, TimeSpan? retryAfter = null)
    {
        var response = context.Response;
        if (response.HasStarted)
        {
            // Too late for a clean status: abort the HTTP/2 stream so the client sees the call fail.
            context.Abort();
            return Task.CompletedTask;
        }

        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "application/grpc";
        response.Headers["grpc-status"] = ((int)status).ToString(CultureInfo.InvariantCulture);
        response.Headers["grpc-message"] = EncodeMessage(message);
        if (retryAfter is { } delay)
        {
            var ms = Math.Max(1, (long)Math.Ceiling(delay.TotalMilliseconds));
            response.Headers[RetryAfterMsHeader] = ms.ToString(CultureInfo.InvariantCulture);
        }

        return response.CompleteAsync();
    }

    /// <summary>
    /// <c>grpc-message</c> as PROTOCOL-HTTP2.md defines it: the UTF-8 bytes, with only those outside
    /// 0x20–0x7E and '%' itself percent-encoded. Everything printable (':' , '/', quotes, spaces)
    /// stays as it is, so clients that show the raw header and clients that decode it agree
    /// (<see cref="Uri.EscapeDataString(string)"/> would also encode ':' as %3A).
    /// </summary>
    public static string EncodeMessage(string message)
    {
        if (message.All(c => c is >= ' ' and <= '~' and not '%'))
        {
            return message;
        }

        var encoded = new System.Text.StringBuilder(message.Length + 16);
        foreach (var b in System.Text.Encoding.UTF8.GetBytes(message))
        {
            if (b is >= 0x20 and <= 0x7E and not (byte)'%')
            {
                encoded.Append((char)b);
            }
            else
            {
                encoded.Append('%').Append(b.ToString("X2", CultureInfo.InvariantCulture));
            }
        }

        return encoded.ToString();
    }

    /// <summary>The gRPC status of a finished call: from the trailers, or from the headers of a trailers-only response.</summary>
    public static StatusCode? ReadStatus(HttpContext context)
    {
        var trailers = context.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpResponseTrailersFeature>()?.Trailers;
        var value = trailers is not null && trailers.TryGetValue("grpc-status", out var t) ? t.ToString()
            : context.Response.Headers.TryGetValue("grpc-status", out var h) ? h.ToString()
            : null;
        return int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var code) ? (StatusCode)code : null;
    }
}
