namespace Mesh.Inference.StructuredOutput;

/// <summary>
/// A compiled format bound to one vocabulary: the grammar's matcher plus a per-state token-mask cache
/// (the adaptive mask cache of xgrammar, here whole masks keyed by automaton state). Shared by every
/// sequence that asks for the same format on the same model. Cached masks of all formats together
/// stay under <see cref="MaxMaskCacheBytes"/>; past it, masks are computed and not kept.
/// </summary>
internal sealed class CompiledFormat : ITokenConstraintSource
{
    /// <summary>Bytes of token masks all compiled formats together may keep.</summary>
    public const long MaxMaskCacheBytes = 256L << 20;

    private static long s_maskBytes;
    private long _maskBytes;
    private bool _released;

    public CompiledFormat(Grammar grammar, TokenVocabulary vocabulary)
    {
        Matcher = new GrammarMatcher(grammar);
        Vocabulary = vocabulary;
    }

    /// <summary>Bytes of token masks currently kept by all compiled formats.</summary>
    public static long CachedMaskBytes => Interlocked.Read(ref s_maskBytes);

    public GrammarMatcher Matcher { get; }

    public TokenVocabulary Vocabulary { get; }

    public ITokenConstraint Create(ReadOnlySpan<int> promptTokens) => new GrammarConstraint(this, Vocabulary.AtStart(promptTokens));

    /// <summary>The engine's logits processor for one request whose output follows <paramref name="promptTokens"/>.</summary>
    public ConstraintLogitsProcessor CreateProcessor(ReadOnlySpan<int> promptTokens) => new(Create(promptTokens), Vocabulary.EosId);

    /// <summary>The allowed-token bitmap of <paramref name="state"/> (EOS not included), cached when the budget allows.</summary>
    public ulong[] MaskOf(MatcherState state, bool atStart)
    {
        var slot = atStart ? 1 : 0;
        if (state.Masks[slot] is { } cached)
        {
            return cached;
        }

        var mask = new ulong[(Vocabulary.Count + 63) / 64];
        (atStart ? Vocabulary.StartTrie : Vocabulary.Trie).Walk(Matcher, state, mask);
        lock (Matcher)
        {
            if (!_released && state.Next is not null && s_maskBytes + (mask.Length * 8L) <= MaxMaskCacheBytes)
            {
                Interlocked.Add(ref s_maskBytes, mask.Length * 8L);
                _maskBytes += mask.Length * 8L;
                state.Masks[slot] = mask;
            }
        }

        return mask;
    }

    /// <summary>
    /// Called when the format leaves the compile cache: its masks no longer count against the budget
    /// (they go with the format once the sequences using it end) and it caches no more.
    /// </summary>
    public void Release()
    {
        lock (Matcher)
        {
            if (!_released)
            {
                _released = true;
                Interlocked.Add(ref s_maskBytes, -_maskBytes);
            }
        }
    }
}
