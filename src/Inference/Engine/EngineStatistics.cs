namespace Mesh.Inference.Engine;

/// <summary>
/// A snapshot of the engine's counters (tests and benchmarks read them; metrics export them).
/// <see cref="SpecDecodeDraftTokens"/> and <see cref="SpecDecodeAcceptedTokens"/> count speculative
/// decoding's proposed and accepted draft tokens (acceptance rate = accepted ÷ drafted).
/// </summary>
public sealed record EngineStatistics(
    int Running,
    int Waiting,
    int UsedBlocks,
    int AvailableBlocks,
    int TotalBlocks,
    long Steps,
    long PromptTokensComputed,
    long PrefixCacheHitTokens,
    long Preemptions,
    long MaxBatchTokens,
    long SpecDecodeDraftTokens = 0,
    long SpecDecodeAcceptedTokens = 0);
