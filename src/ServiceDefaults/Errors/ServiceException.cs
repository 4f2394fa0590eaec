using System.Globalization;
using Grpc.Core;

namespace Mesh.ServiceDefaults.Errors;

/// <summary>
/// A call a Mesh service refuses: the gRPC status it ends with, a message that says what to fix,
/// and optional trailers (for example <see cref="RetryAfterMsTrailer"/>). Thrown anywhere below the
/// gRPC layer; <see cref="ServiceExceptionInterceptor"/> turns it into that status for every call
/// type, so handlers never build statuses themselves.
/// </summary>
public class ServiceException(StatusCode code, string message, Metadata? trailers = null) : Exception(message)
{
    /// <summary>Trailer with the milliseconds after which a retry may succeed (the Mesh convention).</summary>
    public const string RetryAfterMsTrailer = "retry-after-ms";

    /// <summary>The status the call ends with; never OK.</summary>
    public StatusCode Code { get; } = code;

    /// <summary>Trailers sent with the status; empty when none.</summary>
    public Metadata Trailers { get; } = trailers ?? [];

    /// <summary>INVALID_ARGUMENT: the request itself is wrong.</summary>
    public static ServiceException InvalidArgument(string message) => new(StatusCode.InvalidArgument, message);

    /// <summary>NOT_FOUND: the request names something that does not exist.</summary>
    public static ServiceException NotFound(string message) => new(StatusCode.NotFound, message);

    /// <summary>RESOURCE_EXHAUSTED with a <c>retry-after-ms</c> trailer when a retry later may pass.</summary>
    public static ServiceException ResourceExhausted(string message, TimeSpan? retryAfter = null)
    {
        var trailers = new Metadata();
        if (retryAfter is { } delay)
        {
            var ms = Math.Max(1, (long)Math.Ceiling(delay.TotalMilliseconds));
            trailers.Add(RetryAfterMsTrailer, ms.ToString(CultureInfo.InvariantCulture));
        }

        return new(StatusCode.ResourceExhausted, message, trailers);
    }

    /// <summary>The <see cref="RpcException"/> a gRPC server sends for this refusal.</summary>
    public RpcException ToRpcException() => new(new Status(Code, Message), Trailers);
}
