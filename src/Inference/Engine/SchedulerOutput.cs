namespace Mesh.Inference.Engine;

/// <summary>
/// One sequence's share of a step: compute positions [<see cref="Start"/>, Start + <see cref="Count"/>)
/// of its tokens, and when <see cref="Sample"/> is set, sample its next token from the logits of the
/// last of them.
/// </summary>
internal readonly record struct ScheduledSequence(Sequence Sequence, int Start, int Count, bool Sample);

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

    /// <summary>Tokens in the step (at most <c>MaxBatchedTokens</c>).</summary>
    public int TotalTokens { get; set; }
}

/// <summary>A token the model runner sampled for a scheduled sequence, with its logprobs when asked for.</summary>
internal readonly record struct SampledToken(Sequence Sequence, int Token, TokenLogprob? Logprobs);

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
