namespace Mesh.Inference.Engine;

/// <summary>Scheduler limits, bound from the <c>Inference:Engine</c> configuration section.</summary>
public sealed class EngineOptions
{
    /// <summary>Sequences decoded together in one step (vLLM's max_num_seqs). 1 means one at a time.</summary>
    public int MaxRunningSequences { get; set; } = 64;

    /// <summary>Tokens one step may carry, prefill chunks and decodes together (vLLM's max_num_batched_tokens).</summary>
    public int MaxBatchedTokens { get; set; } = 512;

    /// <summary>Requests that may wait for admission; beyond it new requests get RESOURCE_EXHAUSTED.</summary>
    public int MaxWaitingRequests { get; set; } = 256;

    /// <summary>Share full prompt blocks between requests by content (prefix caching).</summary>
    public bool EnablePrefixCaching { get; set; } = true;
}
