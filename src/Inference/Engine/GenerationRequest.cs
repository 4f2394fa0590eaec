using Mesh.Inference.Sampling;

namespace Mesh.Inference.Engine;

/// <summary>A validated generation request, in tokens.</summary>
public sealed record GenerationRequest(
    int[] PromptTokens,
    int MaxTokens,
    SamplingParameters Sampling,
    IReadOnlyList<string> Stop,
    bool IgnoreEos = false,
    int TopLogprobs = 0,
    int Priority = 0,
    string RequestId = "");

public enum FinishReason
{
    Length,
    Stop,
    Eos,
    Cancelled,
}

/// <summary>A token's log-probability and its most likely alternatives.</summary>
public sealed record TokenLogprob(int TokenId, float Logprob, IReadOnlyList<(int TokenId, float Logprob)> Top);

/// <summary>Counts and timings of a finished request.</summary>
public sealed record GenerationUsage(int PromptTokens, int CompletionTokens, int CachedPromptTokens, double TimeToFirstTokenMs, double TotalTimeMs);

/// <summary>
/// One message of a generation stream: new text and tokens, and on the last one the finish reason
/// and usage.
/// </summary>
public sealed record GenerationChunk(
    string Text,
    IReadOnlyList<int> TokenIds,
    IReadOnlyList<TokenLogprob>? Logprobs,
    FinishReason? Finish = null,
    GenerationUsage? Usage = null);
