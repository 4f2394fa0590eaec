using Grpc.Core;
using Mesh.Assistant.V1;

namespace Mesh.Gateway.Assistant;

/// <summary>Checks an <see cref="AskRequest"/> before any stage runs; errors name the field to fix.</summary>
public static class AskRequestValidator
{
    /// <summary>Most points one request may put into the prompt.</summary>
    public const int MaxTopK = 32;

    /// <summary>Sources when <c>top_k</c> is 0.</summary>
    public const int DefaultTopK = 4;

    /// <summary>Answer tokens when <c>max_tokens</c> is 0.</summary>
    public const int DefaultMaxTokens = 256;

    /// <exception cref="RpcException">INVALID_ARGUMENT naming the first bad field.</exception>
    public static void Validate(AskRequest request)
    {
        if (string.IsNullOrWhiteSpace(request.Model))
        {
            throw Invalid("model is required (an id from InferenceService.ListModels)");
        }

        if (request.Messages.Count == 0)
        {
            throw Invalid("messages must hold at least one message, the last with role ROLE_USER");
        }

        for (var i = 0; i < request.Messages.Count; i++)
        {
            var message = request.Messages[i];
            if (message.Role is not (Role.System or Role.User or Role.Assistant))
            {
                throw Invalid($"messages[{i}].role must be ROLE_SYSTEM, ROLE_USER or ROLE_ASSISTANT");
            }

            if (string.IsNullOrWhiteSpace(message.Content))
            {
                throw Invalid($"messages[{i}].content must not be empty");
            }
        }

        if (request.Messages[^1].Role != Role.User)
        {
            throw Invalid($"messages[{request.Messages.Count - 1}].role must be ROLE_USER: the assistant answers the last user message");
        }

        if (request.TopK is < 0 or > MaxTopK)
        {
            throw Invalid($"top_k must be in [0, {MaxTopK}] (0 means {DefaultTopK}); got {request.TopK}");
        }

        if (!float.IsFinite(request.MinScore))
        {
            throw Invalid("min_score must be a finite number");
        }

        if (request.MaxTokens < 0)
        {
            throw Invalid($"max_tokens must be >= 0 (0 means {DefaultMaxTokens}); got {request.MaxTokens}");
        }

        if (request.Filter is not null && request.Collection.Length == 0)
        {
            throw Invalid("filter needs a collection to filter; set collection or leave filter unset");
        }
    }

    private static RpcException Invalid(string message) => new(new Status(StatusCode.InvalidArgument, message));
}
