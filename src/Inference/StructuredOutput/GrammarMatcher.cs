namespace Mesh.Inference.StructuredOutput;

/// <summary>
/// One parse stack of the pushdown automaton: the grammar position to match next (always a byte set
/// once expanded, or a return position) and the stack below it. Interned by the matcher, so two equal
/// stacks are the same object.
/// </summary>
internal sealed class StackNode(int position, StackNode? parent, int id)
{
    public int Position { get; } = position;

    public StackNode? Parent { get; } = parent;

    public int Id { get; } = id;
}

/// <summary>
/// A configuration of the pushdown automaton: the set of parse stacks still alive after the bytes so
/// far (a set, because the grammar may be ambiguous: llama.cpp's approach), and whether the input so far
/// is a complete sentence. States are interned and their byte transitions memoized, so the automaton
/// is determinized lazily as generation visits it (a DFA for regular formats).
/// </summary>
internal sealed class MatcherState
{
    internal MatcherState(StackNode[] stacks, bool accepting, bool memoized)
    {
        Stacks = stacks;
        Accepting = accepting;
        Next = memoized ? new MatcherState?[256] : null;
    }

    internal StackNode[] Stacks { get; }

    /// <summary>Whether the bytes so far form a complete value.</summary>
    public bool Accepting { get; }

    /// <summary>Whether no byte can follow (no stack left).</summary>
    public bool IsFinal => Stacks.Length == 0;

    /// <summary>Dead: nothing matched and nothing can.</summary>
    public bool IsDead => Stacks.Length == 0 && !Accepting;

    internal MatcherState?[]? Next { get; }

    /// <summary>Token masks of this state, by trie (normal, at start of text); null until computed.</summary>
    internal ulong[]?[] Masks { get; } = new ulong[]?[2];
}

/// <summary>
/// Runs a <see cref="Grammar"/> over bytes: <see cref="Step"/> advances a state by one byte. Shared by
/// every request of one format; thread-safe (one lock; the scheduler thread is its only hot user). Its
/// memory is bounded: past <see cref="MaxStates"/> states or <see cref="MaxNodes"/> stack nodes, new
/// ones are no longer memoized (still correct, just recomputed).
/// </summary>
internal sealed class GrammarMatcher
{
    public const int MaxStates = 4096;
    public const int MaxNodes = 200_000;

    private readonly Grammar _grammar;
    private readonly Dictionary<(int Position, int Parent), StackNode> _nodes = [];
    private readonly Dictionary<StateKey, MatcherState> _states = [];
    private readonly HashSet<(int, int)> _visited = [];
    private readonly List<StackNode> _scratch = [];
    private readonly HashSet<StackNode> _seen = new(ReferenceEqualityComparer.Instance);
    private int _nextNodeId = 1;
    private bool _accepting;

    public GrammarMatcher(Grammar grammar)
    {
        _grammar = grammar;
        Dead = new MatcherState([], false, memoized: false);
        lock (this)
        {
            Begin();
            Expand(_grammar.Alternatives[0][0], null);
            Initial = End();
        }
    }

    public Grammar Grammar => _grammar;

    /// <summary>The state before any byte.</summary>
    public MatcherState Initial { get; }

    /// <summary>The state after a byte no stack accepts.</summary>
    public MatcherState Dead { get; }

    /// <summary>The state after <paramref name="b"/> from <paramref name="state"/> (<see cref="Dead"/> if it does not match).</summary>
    public MatcherState Step(MatcherState state, byte b)
    {
        var next = state.Next?[b];
        if (next is not null)
        {
            return next;
        }

        lock (this)
        {
            Begin();
            var code = _grammar.Code;
            foreach (var node in state.Stacks)
            {
                if (_grammar.Sets[code[node.Position].Value].Contains(b))
                {
                    Expand(node.Position + 1, node.Parent);
                }
            }

            next = End();
            if (state.Next is not null)
            {
                state.Next[b] = next;
            }

            return next;
        }
    }

    /// <summary>Whether any byte can follow <paramref name="state"/>.</summary>
    public bool CanContinue(MatcherState state)
    {
        var any = ByteSet.Empty;
        foreach (var node in state.Stacks)
        {
            any = any.Union(_grammar.Sets[_grammar.Code[node.Position].Value]);
        }

        return !any.IsEmpty;
    }

    private void Begin()
    {
        _scratch.Clear();
        _seen.Clear();
        _visited.Clear();
        _accepting = false;
    }

    private MatcherState End()
    {
        if (_scratch.Count == 0 && !_accepting)
        {
            return Dead;
        }

        _scratch.Sort((a, b) => a.Id.CompareTo(b.Id));
        var stacks = _scratch.ToArray();
        var key = new StateKey(stacks, _accepting);
        if (_states.TryGetValue(key, out var existing))
        {
            return existing;
        }

        var memoize = _states.Count < MaxStates;
        var state = new MatcherState(stacks, _accepting, memoize);
        if (memoize)
        {
            _states.Add(key, state);
        }

        return state;
    }

    /// <summary>Adds every stack reachable from position <paramref name="position"/> whose top is a byte set.</summary>
    private void Expand(int position, StackNode? parent)
    {
        if (!_visited.Add((position, parent?.Id ?? 0)))
        {
            return;
        }

        var element = _grammar.Code[position];
        switch (element.Kind)
        {
            case ElementKind.End:
                if (parent is null)
                {
                    _accepting = true;
                }
                else
                {
                    Expand(parent.Position, parent.Parent);
                }

                break;
            case ElementKind.Bytes:
                var node = Intern(position, parent);
                if (_seen.Add(node))
                {
                    _scratch.Add(node);
                }

                break;
            default:
                // Tail call: a rule at the end of an alternative returns straight to our caller.
                var ret = _grammar.Code[position + 1].Kind == ElementKind.End ? parent : Intern(position + 1, parent);
                foreach (var start in _grammar.Alternatives[element.Value])
                {
                    Expand(start, ret);
                }

                break;
        }
    }

    private StackNode Intern(int position, StackNode? parent)
    {
        var key = (position, parent?.Id ?? 0);
        if (_nodes.TryGetValue(key, out var node))
        {
            return node;
        }

        node = new StackNode(position, parent, _nextNodeId++);
        if (_nodes.Count < MaxNodes)
        {
            _nodes.Add(key, node);
        }

        return node;
    }

    private readonly struct StateKey : IEquatable<StateKey>
    {
        private readonly StackNode[] _stacks;
        private readonly bool _accepting;
        private readonly int _hash;

        public StateKey(StackNode[] stacks, bool accepting)
        {
            _stacks = stacks;
            _accepting = accepting;
            var h = new HashCode();
            h.Add(accepting);
            foreach (var s in stacks)
            {
                h.Add(s.Id);
            }

            _hash = h.ToHashCode();
        }

        public bool Equals(StateKey other)
        {
            if (_accepting != other._accepting || _stacks.Length != other._stacks.Length)
            {
                return false;
            }

            for (var i = 0; i < _stacks.Length; i++)
            {
                if (!ReferenceEquals(_stacks[i], other._stacks[i]))
                {
                    return false;
                }
            }

            return true;
        }

        public override bool Equals(object? obj) => obj is StateKey k && Equals(k);

        public override int GetHashCode() => _hash;
    }
}
