using Grpc.Core;

namespace Mesh.Retrieval;

/// <summary>
/// A request the service refuses, with the gRPC status it maps to and a message that says what to fix.
/// Thrown anywhere below the gRPC layer; <see cref="Services.RetrievalExceptionInterceptor"/> turns it into
/// an <see cref="RpcException"/>.
/// </summary>
public sealed class RetrievalException(StatusCode code, string message) : Exception(message)
{
    public StatusCode Code { get; } = code;

    public static RetrievalException Invalid(string message) => new(StatusCode.InvalidArgument, message);
}
