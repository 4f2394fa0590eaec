namespace Mesh.Inference.Engine;

/// <summary>The waiting queue is full or the KV cache is busy: retry after <see cref="RetryAfter"/>.</summary>
public sealed class EngineOverloadedException(string message, TimeSpan retryAfter) : Exception(message)
{
    /// <summary>A hint of when a retry may succeed.</summary>
    public TimeSpan RetryAfter { get; } = retryAfter;
}
