namespace Mesh.Inference.Engine;

/// <summary>
/// One sequence's share of a step: compute positions [<see cref="Start"/>, Start + <see cref="Count"/>)
/// of its tokens, and when <see cref="Sample"/> is set, sample its next token from the logits of the
/// last of them. <see cref="Drafts"/> (speculative decoding; empty otherwise) are proposed tokens
/// computed at the positions after those, each with its logits, so that the model runner can verify
/// them in the same step (vLLM's <c>scheduled_spec_decode_tokens</c>).
/// </summary>
internal readonly record struct ScheduledSequence(Sequence Sequence, int Start, int Count, bool Sample, int[] Drafts)
{
    public ScheduledSequence(Sequence sequence, int start, int count, bool sample)
        : this(sequence, start, count, sample, [])
    {
    }
}

/// <summary>
/// What <see cref="Scheduler.Schedule"/> decided for one step, as plain data (vLLM's
/// <c>SchedulerOutput</c>): the sequences to run in batch order, the ones preempted to make room, and
/// the ones that finished without running (cancelled). The model runner executes it; the scheduler
/// then applies the runner's output with <see cref="Scheduler.UpdateFromOutput"/>.
/// </summary>
internal sealed class SchedulerOutput
{
    public List<ScheduledSequence> Scheduled { get; } = [];

    public List<Sequence> Preempted { get; } = [];

    /// <summary>Finishes decided while scheduling (cancellations), for the output processor.</summary>
    public List<EngineCoreOutput> Finished { get; } = [];

    /// <summary>Tokens in the step (at most <c>MaxBatchedTokens</c>), drafts included.</summary>
    public int TotalTokens { get; set; }

    /// <summary>Draft tokens the step verifies, over all sequences.</summary>
    public int DraftTokens { get; set; }
}

/// <summary>
/// A token the model runner sampled for a scheduled sequence, with its logprobs when asked for.
/// <see cref="AcceptedDraft"/>: the token equals the draft at its position, whose keys and values
/// this step already computed (a sequence's accepted drafts come first, then one sampled token).
/// </summary>
internal readonly record struct SampledToken(Sequence Sequence, int Token, TokenLogprob? Logprobs, bool AcceptedDraft = false);

/// <summary>What the model runner produced for one step: a token per sampling sequence, in schedule order.</summary>
internal sealed class ModelRunnerOutput
{
    public List<SampledToken> Sampled { get; } = [];

    /// <summary><see cref="System.Diagnostics.Stopwatch"/> timestamp when the tokens were sampled.</summary>
    public long Timestamp { get; set; }
}

/// <summary>
/// One event for the output processor (vLLM's <c>EngineCoreOutput</c>): a new token of a request
/// (<see cref="Token"/> ≥ 0), a sampled end-of-sequence (<see cref="Sampled"/> with no token), or its
/// end (<see cref="Finish"/>, or <see cref="Error"/> when the engine failed it).
/// </summary>
internal readonly record struct EngineCoreOutput(
    RequestState Request,
    int Token,
    bool Sampled,
    TokenLogprob? Logprobs,
    FinishReason? Finish,
    int CachedPromptTokens,
    long Timestamp,
    Exception? Error = null);
