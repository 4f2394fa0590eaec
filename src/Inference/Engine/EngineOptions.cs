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

    /// <summary>
    /// Draft tokens proposed per decode step by prompt lookup (vLLM's <c>num_speculative_tokens</c>
    /// with <c>method: ngram</c>) and verified by the target model in the same step; 0 (the default)
    /// turns speculative decoding off. Output is token-identical either way; it pays when the text
    /// copies from its context, and costs extra positions per step when drafts are rejected.
    /// A request's <see cref="GenerationRequest.NumSpeculativeTokens"/> overrides it.
    /// </summary>
    public int NumSpeculativeTokens { get; set; }

    /// <summary>Longest n-gram the prompt-lookup proposer matches (vLLM's <c>prompt_lookup_max</c>).</summary>
    public int PromptLookupMax { get; set; } = 4;

    /// <summary>Shortest n-gram the prompt-lookup proposer matches (vLLM's <c>prompt_lookup_min</c>).</summary>
    public int PromptLookupMin { get; set; } = 2;

    /// <summary>The most draft tokens a step may verify per sequence (bounds the option and the per-request field).</summary>
    public const int MaxSpeculativeTokens = 16;
}
