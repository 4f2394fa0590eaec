namespace Mesh.Inference.StructuredOutput;

/// <summary>
/// The vocabulary's token byte strings as a trie laid out in preorder (the layout llguidance and
/// xgrammar walk): node i has the byte leading to it, its depth, the index just past its subtree, and
/// the tokens whose bytes end there. Walking it with a grammar state visits each shared prefix once and
/// skips a whole subtree as soon as its prefix is rejected. Tokens without bytes (BOS, EOS) are absent.
/// </summary>
internal sealed class TokenTrie
{
    private readonly byte[] _byte;
    private readonly int[] _depth;
    private readonly int[] _subtreeEnd;
    private readonly int[] _tokenStart;
    private readonly int[] _tokens;

    public TokenTrie(IReadOnlyList<byte[]> tokenBytes)
    {
        var ids = Enumerable.Range(0, tokenBytes.Count).Where(i => tokenBytes[i].Length > 0).ToArray();
        Array.Sort(ids, (a, b) => tokenBytes[a].AsSpan().SequenceCompareTo(tokenBytes[b]));
        var bytes = new List<byte> { 0 };
        var depth = new List<int> { 0 };
        var end = new List<int> { 0 };
        var tokenStart = new List<int> { 0 };
        var tokens = new List<int>(ids.Length);
        var path = new List<int> { 0 }; // node index at each depth of the current path
        byte[] previous = [];
        foreach (var id in ids)
        {
            var t = tokenBytes[id];
            var common = t.AsSpan().CommonPrefixLength(previous);
            while (path.Count - 1 > common)
            {
                end[path[^1]] = bytes.Count;
                path.RemoveAt(path.Count - 1);
            }

            for (var d = common; d < t.Length; d++)
            {
                path.Add(bytes.Count);
                bytes.Add(t[d]);
                depth.Add(d + 1);
                end.Add(0);
                tokenStart.Add(tokens.Count);
            }

            tokens.Add(id);
            previous = t;
        }

        while (path.Count > 0)
        {
            end[path[^1]] = bytes.Count;
            path.RemoveAt(path.Count - 1);
        }

        tokenStart.Add(tokens.Count);
        _byte = [.. bytes];
        _depth = [.. depth];
        _subtreeEnd = [.. end];
        _tokenStart = [.. tokenStart];
        _tokens = [.. tokens];
        MaxDepth = _depth.Max();
    }

    /// <summary>Number of nodes, the root included.</summary>
    public int NodeCount => _byte.Length;

    /// <summary>The longest token, in bytes.</summary>
    public int MaxDepth { get; }

    /// <summary>
    /// Sets in <paramref name="mask"/> the bit of every token whose whole byte string the matcher
    /// accepts from <paramref name="state"/>.
    /// </summary>
    public void Walk(GrammarMatcher matcher, MatcherState state, ulong[] mask)
    {
        var states = new MatcherState[MaxDepth + 1];
        states[0] = state;
        var i = 1;
        while (i < _byte.Length)
        {
            var d = _depth[i];
            var next = matcher.Step(states[d - 1], _byte[i]);
            if (next.IsDead)
            {
                i = _subtreeEnd[i];
                continue;
            }

            states[d] = next;
            for (var t = _tokenStart[i]; t < _tokenStart[i + 1]; t++)
            {
                var id = _tokens[t];
                mask[id >> 6] |= 1UL << (id & 63);
            }

            i++;
        }
    }
}
