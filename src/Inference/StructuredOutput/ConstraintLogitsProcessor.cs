using Mesh.Inference.Engine;

namespace Mesh.Inference.StructuredOutput;

/// <summary>
/// Plugs one sequence's <see cref="ITokenConstraint"/> into the engine's per-request logits hook:
/// <see cref="Process"/> masks the row before sampling, <see cref="Accept"/> advances the automaton,
/// <see cref="IsComplete"/> ends the request with STOP, and <see cref="Failure"/> fails this request
/// alone when no token can continue the format (the row then allows only EOS, so the step completes).
/// </summary>
internal sealed class ConstraintLogitsProcessor(ITokenConstraint constraint, int eosId) : ILogitsProcessor
{
    private float[] _zeros = [];

    public bool IsComplete => Failure is null && constraint.IsComplete;

    public Exception? Failure { get; private set; }

    public void Process(Span<float> logits, ReadOnlySpan<int> outputTokens)
    {
        if (constraint.Mask(logits) || Failure is not null)
        {
            return;
        }

        logits.Fill(float.NegativeInfinity);
        if ((uint)eosId < (uint)logits.Length)
        {
            logits[eosId] = 0;
        }

        Failure = new UnsatisfiableFormatException($"no token can continue the response_format after {outputTokens.Length} tokens; the model's vocabulary cannot spell what the format requires next");
    }

    /// <summary>A constraint only removes tokens.</summary>
    public bool MasksOnly => true;

    /// <summary>The mask is <see cref="Process"/> run on a row of zeros: the tokens it leaves finite.</summary>
    public void WriteMask(Span<uint> allowed, int vocabSize, ReadOnlySpan<int> outputTokens)
    {
        if (_zeros.Length != vocabSize)
        {
            _zeros = new float[vocabSize];
        }
        else
        {
            Array.Clear(_zeros);
        }
        Process(_zeros, outputTokens);
        allowed.Clear();
        for (var i = 0; i < vocabSize; i++)
        {
            if (!float.IsNegativeInfinity(_zeros[i]))
            {
                allowed[i >> 5] |= 1u << (i & 31);
            }
        }
    }

    public void Accept(int token)
    {
        if (Failure is null && !constraint.Accept(token))
        {
            Failure = new UnsatisfiableFormatException($"the sampler chose token {token}, which the response_format's mask had excluded");
        }
    }
}
