namespace Mesh.Inference.StructuredOutput;

/// <summary>
/// The per-sequence hook of constrained decoding, all the engine sees of structured output: before
/// each draw it masks the logits, after it accepts the drawn token, and it says when the output is a
/// complete value. Not thread-safe: one sequence, one scheduler thread.
/// </summary>
internal interface ITokenConstraint
{
    /// <summary>
    /// Sets to −∞ the logit of every token that would make the output invalid (EOS stays only when the
    /// output is already complete). Returns false when no token is allowed: the format cannot be
    /// continued with this vocabulary, and the sequence must end.
    /// </summary>
    bool Mask(Span<float> logits);

    /// <summary>Advances by the drawn token; false (and no change) if the token was not allowed.</summary>
    bool Accept(int token);

    /// <summary>The output is a complete value and nothing may follow: stop now (finish reason STOP).</summary>
    bool IsComplete { get; }
}

/// <summary>Makes one <see cref="ITokenConstraint"/> per sequence from a compiled format.</summary>
internal interface ITokenConstraintSource
{
    /// <summary>A fresh constraint for output that follows <paramref name="promptTokens"/>.</summary>
    ITokenConstraint Create(ReadOnlySpan<int> promptTokens);
}
