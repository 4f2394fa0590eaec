using Grpc.Core;
using Grpc.Core.Interceptors;
using Microsoft.Extensions.Logging;

namespace Mesh.ServiceDefaults.Errors;

/// <summary>
/// The one place a Mesh service turns exceptions into gRPC statuses, for all four call types:
/// <list type="bullet">
/// <item><see cref="RpcException"/> passes through unchanged;</item>
/// <item><see cref="ServiceException"/> becomes its status, message and trailers;</item>
/// <item><see cref="OperationCanceledException"/> of a call whose caller cancelled becomes CANCELLED
/// (DEADLINE_EXCEEDED once its deadline passed);</item>
/// <item>anything else becomes INTERNAL with a generic message naming the request id, and is logged
/// once, with the exception, the method and the request id (<c>x-request-id</c>, which the gateway
/// sends), so an operator can find it. Library messages never reach callers.</item>
/// </list>
/// Registered for every host by <see cref="MeshServiceDefaults.AddMeshServiceDefaults"/>.
/// </summary>
public sealed partial class ServiceExceptionInterceptor(ILogger<ServiceExceptionInterceptor> logger, TimeProvider time) : Interceptor
{
    /// <summary>The request id header the gateway sets on every call it forwards.</summary>
    public const string RequestIdHeader = "x-request-id";

    /// <summary>Runs a unary call, mapping what it throws as the type's summary says.</summary>
    public override async Task<TResponse> UnaryServerHandler<TRequest, TResponse>(
        TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            return await continuation(request, context).ConfigureAwait(false);
        }
        catch (Exception exception) when (exception is not RpcException)
        {
            throw Map(exception, context);
        }
    }

    /// <summary>Runs a client-streaming call, mapping what it throws as the type's summary says.</summary>
    public override async Task<TResponse> ClientStreamingServerHandler<TRequest, TResponse>(
        IAsyncStreamReader<TRequest> requestStream, ServerCallContext context, ClientStreamingServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            return await continuation(requestStream, context).ConfigureAwait(false);
        }
        catch (Exception exception) when (exception is not RpcException)
        {
            throw Map(exception, context);
        }
    }

    /// <summary>
    /// Runs a server-streaming call, mapping what it throws as the type's summary says; a failure
    /// after some responses were written ends the stream with the mapped status.
    /// </summary>
    public override async Task ServerStreamingServerHandler<TRequest, TResponse>(
        TRequest request, IServerStreamWriter<TResponse> responseStream, ServerCallContext context,
        ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            await continuation(request, responseStream, context).ConfigureAwait(false);
        }
        catch (Exception exception) when (exception is not RpcException)
        {
            throw Map(exception, context);
        }
    }

    /// <summary>Runs a bidirectional-streaming call, mapping what it throws as the type's summary says.</summary>
    public override async Task DuplexStreamingServerHandler<TRequest, TResponse>(
        IAsyncStreamReader<TRequest> requestStream, IServerStreamWriter<TResponse> responseStream, ServerCallContext context,
        DuplexStreamingServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            await continuation(requestStream, responseStream, context).ConfigureAwait(false);
        }
        catch (Exception exception) when (exception is not RpcException)
        {
            throw Map(exception, context);
        }
    }

    private RpcException Map(Exception exception, ServerCallContext context)
    {
        if (exception is ServiceException refused)
        {
            return refused.ToRpcException();
        }

        if (exception is OperationCanceledException && context.CancellationToken.IsCancellationRequested)
        {
            return context.Deadline <= time.GetUtcNow().UtcDateTime
                ? new RpcException(new Status(StatusCode.DeadlineExceeded, "The call's deadline passed before it finished."))
                : new RpcException(new Status(StatusCode.Cancelled, "The call was cancelled by the caller."));
        }

        var requestId = context.RequestHeaders.GetValue(RequestIdHeader) ?? "(none)";
        Log.Unhandled(logger, context.Method, requestId, exception);
        return new RpcException(new Status(StatusCode.Internal,
            $"The service failed on this request (request id {requestId}); the error is logged under that id."));
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1, EventName = "UnhandledException", Level = LogLevel.Error,
            Message = "{Method} failed with an unexpected exception for request {RequestId}")]
        public static partial void Unhandled(ILogger logger, string method, string requestId, Exception exception);
    }
}
