namespace Mesh.Inference.Engine;

/// <summary>The waiting queue is full, or a request can never fit the KV cache: retry later or ask for less.</summary>
public sealed class EngineOverloadedException(string message, TimeSpan retryAfter) : Exception(message)
{
    /// <summary>A hint of when a retry may succeed.</summary>
    public TimeSpan RetryAfter { get; } = retryAfter;
}
