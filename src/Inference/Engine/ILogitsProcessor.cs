namespace Mesh.Inference.Engine;

/// <summary>
/// A per-request hook between the forward pass and the sampler: the seam where constrained decoding
/// (JSON schema or grammar masks, vLLM's structured-output bitmask) and other logits processors plug
/// in. Set on <see cref="GenerationRequest.LogitsProcessor"/>; one instance serves one request.
/// <para>
/// Both methods run on the model's scheduler thread, between steps, so they must be quick (a mask
/// over the vocabulary, not a search) and need no locking. Order per token: the
/// <see cref="ModelRunner"/> calls <see cref="Process"/> on the raw logits row, then computes the
/// logprobs reported to the client and samples (penalties, top-k/p, temperature) from the processed
/// row; the <see cref="Scheduler"/> then calls <see cref="Accept"/> with the token, end-of-sequence
/// included. A preempted request is recomputed without sampling, so the processor sees each output
/// token exactly once. An exception fails the request's step like a backend error would.
/// </para>
/// </summary>
public interface ILogitsProcessor
{
    /// <summary>
    /// Adjusts one row of <paramref name="logits"/> (vocabulary size floats) in place before
    /// sampling; a disallowed token gets <see cref="float.NegativeInfinity"/>. At least one token
    /// must stay finite. <paramref name="outputTokens"/> are the tokens generated so far.
    /// </summary>
    void Process(Span<float> logits, ReadOnlySpan<int> outputTokens);

    /// <summary>
    /// Whether this processor only removes tokens, independent of the logits' values, so that
    /// <see cref="WriteMask"/> can stand in for <see cref="Process"/> when sampling on the device
    /// (only token ids come back). False (the default): the step copies the logits to the host.
    /// </summary>
    bool MasksOnly => false;

    /// <summary>
    /// When <see cref="MasksOnly"/>: writes which tokens <see cref="Process"/> would leave finite as
    /// bits (bit i of word i/32 set = token i allowed; <paramref name="allowed"/> holds
    /// ceil(<paramref name="vocabSize"/>/32) words), with the same side effects as <see cref="Process"/>.
    /// </summary>
    void WriteMask(Span<uint> allowed, int vocabSize, ReadOnlySpan<int> outputTokens) =>
        throw new NotSupportedException($"{GetType().Name} is not a mask-only logits processor");

    /// <summary>Told the token sampled from the processed row, so a stateful processor (a grammar matcher) advances.</summary>
    void Accept(int token);

    /// <summary>
    /// After <see cref="Accept"/>: the output is complete and nothing may follow (a grammar reached
    /// its end); the scheduler finishes the request with <see cref="FinishReason.Stop"/>.
    /// </summary>
    bool IsComplete => false;

    /// <summary>
    /// After <see cref="Accept"/>: why this request cannot go on (e.g. no token can continue its
    /// grammar); the scheduler fails this request alone with it. Null while all is well.
    /// </summary>
    Exception? Failure => null;
}
