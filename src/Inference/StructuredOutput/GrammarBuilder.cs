namespace Mesh.Inference.StructuredOutput;

/// <summary>A symbol of a sequence under construction: a byte set, or a rule.</summary>
internal readonly record struct Symbol(int Rule, ByteSet Set)
{
    public bool IsRule => Rule >= 0;

    public static Symbol Of(ByteSet set) => new(-1, set);

    public static Symbol OfRule(int rule) => new(rule, default);
}

/// <summary>
/// Builds a <see cref="Grammar"/>: rules are declared, then given alternatives (sequences of byte sets and
/// rule references). Helpers give the EBNF operators (optional, repetition with bounds, choice) as
/// fresh rules, the way llama.cpp's json-schema-to-grammar expands <c>x{m,n}</c> into nested optionals
/// so that no rule is ambiguous about how many items it has seen.
/// </summary>
internal sealed class GrammarBuilder
{
    /// <summary>Upper bound on grammar elements; a schema that needs more is refused.</summary>
    public const int MaxElements = 400_000;

    /// <summary>Longest chain of rules that each start with the next.</summary>
    public const int MaxExpansionDepth = 1000;

    private readonly List<string> _names = [];
    private readonly List<List<Symbol[]>?> _rules = [];
    private int _elements;

    public int RuleCount => _rules.Count;

    /// <summary>Declares a rule (defined later by <see cref="Define"/>) and returns its index.</summary>
    public int Declare(string name)
    {
        _names.Add(name);
        _rules.Add(null);
        return _rules.Count - 1;
    }

    public bool IsDefined(int rule) => _rules[rule] is not null;

    /// <summary>Gives <paramref name="rule"/> its alternatives.</summary>
    /// <exception cref="GrammarException">The grammar grew past <see cref="MaxElements"/>.</exception>
    public void Define(int rule, params IEnumerable<Symbol>[] alternatives)
    {
        var alts = alternatives.Select(a => a.ToArray()).ToList();
        _elements += alts.Sum(a => a.Length + 1);
        if (_elements > MaxElements)
        {
            throw new GrammarException($"the format needs more than {MaxElements} grammar elements; simplify it (lower maxLength/maxItems bounds, fewer alternatives)");
        }

        _rules[rule] = alts;
    }

    /// <summary>A new rule with the given alternatives, as a one-symbol sequence.</summary>
    public Symbol[] Choice(string name, params IEnumerable<Symbol>[] alternatives)
    {
        if (alternatives.Length == 1)
        {
            return [.. alternatives[0]];
        }

        var r = Declare(name);
        Define(r, alternatives);
        return [Symbol.OfRule(r)];
    }

    /// <summary><paramref name="item"/> repeated <paramref name="min"/> to <paramref name="max"/> times (max &lt; 0: unbounded).</summary>
    public Symbol[] Repeat(string name, IReadOnlyList<Symbol> item, int min, int max)
    {
        var result = new List<Symbol>();
        for (var i = 0; i < min; i++)
        {
            result.AddRange(item);
            if (_elements + result.Count > MaxElements)
            {
                throw new GrammarException($"the format needs more than {MaxElements} grammar elements; lower the minimum counts");
            }
        }

        if (max < 0)
        {
            // star ::= item star | ""  (right recursion: the matcher's tail calls keep its stack flat)
            var star = Declare(name + "*");
            Define(star, [.. item, Symbol.OfRule(star)], []);
            result.Add(Symbol.OfRule(star));
        }
        else if (max > min)
        {
            // opt_k ::= item opt_{k-1} | ""  — nested optionals, k = max - min
            var previous = -1;
            for (var k = 1; k <= max - min; k++)
            {
                var opt = Declare($"{name}{{0,{k}}}");
                Define(opt, previous < 0 ? [.. item] : [.. item, Symbol.OfRule(previous)], []);
                previous = opt;
            }

            result.Add(Symbol.OfRule(previous));
        }

        return [.. result];
    }

    public static Symbol[] Literal(string text) => Literal(System.Text.Encoding.UTF8.GetBytes(text));

    public static Symbol[] Literal(ReadOnlySpan<byte> bytes)
    {
        var result = new Symbol[bytes.Length];
        for (var i = 0; i < bytes.Length; i++)
        {
            result[i] = Symbol.Of(ByteSet.Of(bytes[i]));
        }

        return result;
    }

    /// <summary>Flattens the rules, with <paramref name="root"/> as rule 0's only alternative.</summary>
    /// <exception cref="GrammarException">A rule is undefined, left-recursive, or the root derives no finite text.</exception>
    public Grammar Build(int root)
    {
        for (var r = 0; r < _rules.Count; r++)
        {
            if (_rules[r] is null)
            {
                throw new GrammarException($"rule '{_names[r]}' is used but never defined");
            }
        }

        // Alternatives that can never finish (a $ref past the depth bound, an empty set) are dropped, so
        // that every prefix the matcher accepts can still be completed.
        var productive = Productive(_rules.Select(r => r!).ToList());
        if (!productive[root])
        {
            throw new GrammarException($"rule '{_names[root]}' can never finish: every alternative needs itself, a deeper recursion than allowed, or an empty character set");
        }

        var rules = _rules.Select(r => r!.Where(a => a.All(s => s.IsRule ? productive[s.Rule] : !s.Set.IsEmpty)).ToList()).ToList();
        CheckLeftRecursion(rules);
        CheckExpansionDepth(rules);
        var sets = new List<ByteSet>();
        var setIndex = new Dictionary<ByteSet, int>();
        var code = new List<GrammarElement>();
        var starts = new int[rules.Count + 1][];
        // Rule index r in the grammar is builder rule r - 1; grammar rule 0 is "root ::= <root>".
        starts[0] = [code.Count];
        code.Add(new(ElementKind.Rule, root + 1));
        code.Add(new(ElementKind.End, 0));
        for (var r = 0; r < rules.Count; r++)
        {
            var alts = new int[rules[r].Count];
            for (var a = 0; a < alts.Length; a++)
            {
                alts[a] = code.Count;
                foreach (var s in rules[r][a])
                {
                    if (s.IsRule)
                    {
                        code.Add(new(ElementKind.Rule, s.Rule + 1));
                        continue;
                    }

                    if (!setIndex.TryGetValue(s.Set, out var si))
                    {
                        si = sets.Count;
                        sets.Add(s.Set);
                        setIndex.Add(s.Set, si);
                    }

                    code.Add(new(ElementKind.Bytes, si));
                }

                code.Add(new(ElementKind.End, 0));
            }

            starts[r + 1] = alts;
        }

        return new Grammar([.. code], starts, [.. sets], ["root", .. _names]);
    }

    private static bool[] Nullable(List<List<Symbol[]>> rules)
    {
        var nullable = new bool[rules.Count];
        for (var changed = true; changed;)
        {
            changed = false;
            for (var r = 0; r < rules.Count; r++)
            {
                if (!nullable[r] && rules[r].Any(a => a.All(s => s.IsRule && nullable[s.Rule])))
                {
                    nullable[r] = true;
                    changed = true;
                }
            }
        }

        return nullable;
    }

    private void CheckLeftRecursion(List<List<Symbol[]>> rules)
    {
        var nullable = Nullable(rules);
        // first[r]: rules that can start rule r's text (reached past only nullable symbols).
        var first = new List<int>[rules.Count];
        for (var r = 0; r < rules.Count; r++)
        {
            first[r] = [];
            foreach (var alt in rules[r])
            {
                foreach (var s in alt)
                {
                    if (!s.IsRule)
                    {
                        break;
                    }

                    first[r].Add(s.Rule);
                    if (!nullable[s.Rule])
                    {
                        break;
                    }
                }
            }
        }

        var color = new byte[rules.Count];
        for (var r = 0; r < rules.Count; r++)
        {
            if (color[r] == 0 && FindCycle(r, first, color) is { } cycle)
            {
                throw new GrammarException($"rule '{_names[cycle]}' is left-recursive (it can start with itself); rewrite it with right recursion or repetition");
            }
        }
    }

    /// <summary>
    /// The matcher expands a rule's first symbols recursively; a chain of rules each starting with the
    /// next (`a ::= b`, `b ::= c`, …) thousands long would exhaust the scheduler thread's stack.
    /// </summary>
    private void CheckExpansionDepth(List<List<Symbol[]>> rules)
    {
        // Longest chain of leading rule references (acyclic: left recursion was refused), iteratively.
        var depth = new int[rules.Count];
        var stack = new Stack<(int Rule, bool Done)>();
        for (var r = 0; r < rules.Count; r++)
        {
            if (depth[r] != 0)
            {
                continue;
            }

            stack.Push((r, false));
            while (stack.Count > 0)
            {
                var (rule, done) = stack.Pop();
                var leading = rules[rule].Where(a => a.Length > 0 && a[0].IsRule).Select(a => a[0].Rule);
                if (done)
                {
                    depth[rule] = 1 + leading.Select(l => depth[l]).DefaultIfEmpty(0).Max();
                    if (depth[rule] > MaxExpansionDepth)
                    {
                        throw new GrammarException($"rule '{_names[rule]}' starts a chain of more than {MaxExpansionDepth} nested rules; flatten the grammar");
                    }

                    continue;
                }

                if (depth[rule] != 0)
                {
                    continue;
                }

                depth[rule] = -1; // in progress
                stack.Push((rule, true));
                foreach (var l in leading.Where(l => depth[l] == 0))
                {
                    stack.Push((l, false));
                }
            }
        }
    }

    private static int? FindCycle(int start, List<int>[] first, byte[] color)
    {
        // Iterative DFS: 1 = on the path, 2 = done.
        var stack = new Stack<(int Rule, int Next)>();
        stack.Push((start, 0));
        color[start] = 1;
        while (stack.Count > 0)
        {
            var (r, next) = stack.Pop();
            if (next < first[r].Count)
            {
                stack.Push((r, next + 1));
                var t = first[r][next];
                if (color[t] == 1)
                {
                    return t;
                }

                if (color[t] == 0)
                {
                    color[t] = 1;
                    stack.Push((t, 0));
                }
            }
            else
            {
                color[r] = 2;
            }
        }

        return null;
    }

    private static bool[] Productive(List<List<Symbol[]>> rules)
    {
        var productive = new bool[rules.Count];
        for (var changed = true; changed;)
        {
            changed = false;
            for (var r = 0; r < rules.Count; r++)
            {
                if (!productive[r] && rules[r].Any(a => a.All(s => s.IsRule ? productive[s.Rule] : !s.Set.IsEmpty)))
                {
                    productive[r] = true;
                    changed = true;
                }
            }
        }

        return productive;
    }
}
