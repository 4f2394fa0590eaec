namespace Mesh.Inference.Engine;

/// <summary>A snapshot of the engine's counters (tests and benchmarks read them; metrics export them).</summary>
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
    long MaxBatchTokens);
