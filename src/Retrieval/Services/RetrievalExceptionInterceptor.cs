using Grpc.Core;
using Grpc.Core.Interceptors;

namespace Mesh.Retrieval.Services;

/// <summary>
/// Turns a <see cref="RetrievalException"/> thrown anywhere under a call into the gRPC status it names,
/// with its message, so handlers validate by throwing and never build statuses themselves.
/// </summary>
internal sealed class RetrievalExceptionInterceptor : Interceptor
{
    public override async Task<TResponse> UnaryServerHandler<TRequest, TResponse>(
        TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            return await continuation(request, context).ConfigureAwait(false);
        }
        catch (RetrievalException exception)
        {
            throw new RpcException(new Status(exception.Code, exception.Message));
        }
    }

    public override async Task DuplexStreamingServerHandler<TRequest, TResponse>(
        IAsyncStreamReader<TRequest> requestStream, IServerStreamWriter<TResponse> responseStream, ServerCallContext context,
        DuplexStreamingServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            await continuation(requestStream, responseStream, context).ConfigureAwait(false);
        }
        catch (RetrievalException exception)
        {
            throw new RpcException(new Status(exception.Code, exception.Message));
        }
    }
}
