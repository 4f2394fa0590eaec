using Mesh.ServiceDefaults.Errors;

namespace Mesh.Inference.StructuredOutput;

/// <summary>
/// The format cannot be continued with the model's vocabulary (no token spells any allowed next
/// text, e.g. a vocabulary without '{' asked for JSON). Surfaces as gRPC FAILED_PRECONDITION.
/// </summary>
internal sealed class UnsatisfiableFormatException(string message)
    : ServiceException(Grpc.Core.StatusCode.FailedPrecondition, message);
