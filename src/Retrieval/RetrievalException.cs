using Grpc.Core;
using Mesh.ServiceDefaults.Errors;

namespace Mesh.Retrieval;

/// <summary>
/// A request the service refuses, with the gRPC status it maps to and a message that says what to fix.
/// Thrown anywhere below the gRPC layer; the hosts' <see cref="ServiceExceptionInterceptor"/> turns it
/// into that status.
/// </summary>
public sealed class RetrievalException(StatusCode code, string message) : ServiceException(code, message)
{
    /// <summary>INVALID_ARGUMENT with <paramref name="message"/> (the field and what to fix).</summary>
    public static RetrievalException Invalid(string message) => new(StatusCode.InvalidArgument, message);
}
