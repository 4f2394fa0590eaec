using Mesh.Inference.Sampling;

namespace Mesh.Inference.Engine;

/// <summary>A validated generation request, in tokens.</summary>
/// <param name="PromptTokens">The prompt's token ids (at least one).</param>
/// <param name="MaxTokens">Tokens to generate at most.</param>
/// <param name="Sampling">How each token is chosen.</param>
/// <param name="Stop">Stop strings: generation ends before the first of them, which is not returned.</param>
/// <param name="IgnoreEos">Keep generating past end-of-sequence.</param>
/// <param name="TopLogprobs">Alternatives reported per token with their logprobs (0: no logprobs).</param>
/// <param name="Priority">Lower is served first; ties by arrival.</param>
/// <param name="RequestId">The id logs and traces carry.</param>
/// <param name="CacheSalt">
/// Isolates the prefix cache (vLLM's <c>cache_salt</c>): only requests with the same salt share KV
/// blocks. The service sets the caller's tenant.
/// </param>
/// <param name="LogitsProcessor">Per-request logits hook (constrained decoding); see <see cref="ILogitsProcessor"/>.</param>
/// <param name="Adapter">The LoRA adapter the sequence runs with (null: the bare base model).</param>
/// <param name="NumSpeculativeTokens">
/// Prompt-lookup draft tokens per step for this request (0 or less: off; above
/// <see cref="EngineOptions.MaxSpeculativeTokens"/>: that many); null: the engine's
/// <see cref="EngineOptions.NumSpeculativeTokens"/>. The output is the same either way.
/// </param>
public sealed record GenerationRequest(
    int[] PromptTokens,
    int MaxTokens,
    SamplingParameters Sampling,
    IReadOnlyList<string> Stop,
    bool IgnoreEos = false,
    int TopLogprobs = 0,
    int Priority = 0,
    string RequestId = "",
    string CacheSalt = "",
    ILogitsProcessor? LogitsProcessor = null,
    Models.Lora.LoraAdapter? Adapter = null,
    int? NumSpeculativeTokens = null)
{
    /// <summary>
    /// The salt the prefix cache uses: <see cref="CacheSalt"/>, plus the adapter's identity when there
    /// is one, since an adapter changes the keys and values of every layer.
    /// </summary>
    public string PrefixCacheSalt => Adapter is null ? CacheSalt : CacheSalt + "\u0000" + Adapter.CacheKey;
}

/// <summary>Why a generation ended (the proto's <c>FinishReason</c>, OpenAI's <c>finish_reason</c>).</summary>
public enum FinishReason
{
    /// <c>MaxTokens</c> tokens were generated, or the sequence reached the model's context length.
    Length,
    /// <summary>
    /// A stop string matched, an end-of-turn token other than EOS was sampled, or a structured format completed.
    /// </summary>
    Stop,
    /// <summary>The model sampled its end-of-sequence token (not with <c>IgnoreEos</c>).</summary>
    Eos,
    /// <summary>The caller cancelled, its deadline passed, or the request failed.</summary>
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
