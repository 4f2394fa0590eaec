namespace Mesh.Inference.Engine;

/// <summary>
/// A request whose prompt plus <c>max_tokens</c> needs more KV blocks than the whole cache holds: it
/// can never run on this replica, however long the caller waits, so it is refused as the caller's
/// error (INVALID_ARGUMENT), not as an overload to retry (vLLM and OpenAI answer 400 here as well).
/// </summary>
public sealed class KvCapacityExceededException(string message, int maxTokensThatFit) : Exception(message)
{
    /// <summary>The largest <c>max_tokens</c> the same prompt fits with; 0 when the prompt alone does not fit.</summary>
    public int MaxTokensThatFit { get; } = maxTokensThatFit;
}
