namespace Mesh.Gateway.Assistant;

/// <summary>Settings of the assistant pipeline the gateway hosts (section <c>Gateway:Assistant</c>).</summary>
public sealed class AssistantOptions
{
    /// <summary>The configuration section these options bind to.</summary>
    public const string SectionName = "Gateway:Assistant";

    /// <summary>
    /// Where the pipeline sends its Guard, Retrieval and Inference calls. Unset: the gateway's own gRPC
    /// endpoint, so every stage passes the caller's key, tenant, limits and resource checks exactly
    /// as a direct call would. Set it when the gateway's endpoint uses a certificate the gateway itself
    /// does not trust.
    /// </summary>
    public Uri? Upstream { get; set; }

    /// <summary>Guard policy for requests that name none; empty lets Guard pick the tenant's default.</summary>
    public string DefaultPolicy { get; set; } = "";

    /// <summary>
    /// How long the input guard's verdict on one question text is reused (per key and policy), so a
    /// repeated question does not pay for the guard's embeddings again. Zero disables the cache; a
    /// policy change reaches cached questions after at most this long.
    /// </summary>
    public TimeSpan InputCheckCacheTtl { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>At most this many cached input verdicts.</summary>
    public int InputCheckCacheEntries { get; set; } = 4096;

    /// <summary>
    /// Answer text held back from the caller until the output guard has seen what follows it, in
    /// characters: a personal-data entity shorter than this is redacted before any of it is sent.
    /// </summary>
    public int OutputHoldbackChars { get; set; } = 48;

    /// <summary>The output guard is sent the answer in chunks of at least this many characters.</summary>
    public int OutputCheckChunkChars { get; set; } = 16;

    /// <summary>
    /// Whether answers are scored by Guard's QualityService (groundedness, relevance, citations,
    /// format) before the done event, and exchanges, blocked ones included, recorded for drift.
    /// </summary>
    public bool ScoreAnswers { get; set; } = true;

    /// <summary>
    /// The share of exchanges scored and recorded for drift, 0..1 (default 1: every one). Scoring
    /// embeds the answer and its sentences with MiniLM on Guard, the largest CPU cost of an answer after
    /// generation; under load a sample keeps the metrics and drift series at a fraction of that cost, as
    /// Ragas-style online evaluation is usually run. Exactly ⌊n·rate⌋ of the first n exchanges are
    /// scored (evenly spread, no randomness); an exchange not scored has no <c>done.scores</c>. Drift
    /// windows then fill 1/rate times slower.
    /// </summary>
    public double ScoreSampleRate { get; set; } = 1.0;

    /// <summary>
    /// How long the token count of a conversation (Tokenize with messages, for fitting the prompt to
    /// the context) is reused per key, model and exact conversation. Zero disables the cache.
    /// </summary>
    public TimeSpan PromptTokenCacheTtl { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>At most this many cached prompt token counts.</summary>
    public int PromptTokenCacheEntries { get; set; } = 4096;
}
