namespace Mesh.Inference.StructuredOutput;

/// <summary>The <see cref="ITokenConstraint"/> of one sequence: a position in a <see cref="CompiledFormat"/>'s automaton.</summary>
internal sealed class GrammarConstraint(CompiledFormat format, bool atStart) : ITokenConstraint
{
    private MatcherState _state = format.Matcher.Initial;
    private bool _atStart = atStart;

    /// <summary>The output so far is a complete value (EOS is allowed).</summary>
    public bool IsAccepting => _state.Accepting;

    public bool IsComplete => _state.Accepting && !format.Matcher.CanContinue(_state);

    public bool Mask(Span<float> logits)
    {
        var mask = format.MaskOf(_state, _atStart);
        var any = false;
        for (var w = 0; w * 64 < logits.Length; w++)
        {
            var bits = w < mask.Length ? mask[w] : 0UL;
            var eos = format.Vocabulary.EosId;
            if (_state.Accepting && eos >> 6 == w)
            {
                bits |= 1UL << (eos & 63);
            }

            any |= bits != 0;
            if (bits == ulong.MaxValue)
            {
                continue;
            }

            var end = Math.Min(64, logits.Length - (w * 64));
            for (var b = 0; b < end; b++)
            {
                if ((bits & (1UL << b)) == 0)
                {
                    logits[(w * 64) + b] = float.NegativeInfinity;
                }
            }
        }

        return any;
    }

    public bool Accept(int token)
    {
        if (token == format.Vocabulary.EosId)
        {
            return _state.Accepting;
        }

        if ((uint)token >= (uint)format.Vocabulary.Count)
        {
            return false;
        }

        var bytes = _atStart ? format.Vocabulary.StartBytes[token] : format.Vocabulary.Bytes[token];
        var state = _state;
        foreach (var b in bytes)
        {
            state = format.Matcher.Step(state, b);
            if (state.IsDead)
            {
                return false;
            }
        }

        if (bytes.Length == 0)
        {
            return false; // a control token adds no text, so it cannot advance a format
        }

        _state = state;
        _atStart = false;
        return true;
    }
}
