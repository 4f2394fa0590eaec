using System.Globalization;


namespace Mesh.Retrieval.Filtering;

/// <summary>
/// A validated <see cref="FilterExpression"/>, compiled against a collection's <see cref="PayloadSchema"/> into a tree
/// that tests a point's indexed values (called from inside the HNSW walk, so it allocates nothing) and
/// bounds how many points it can match from the keyword postings (for the planner).
/// </summary>
internal abstract class CompiledFilter
{
    public const int MaxConditions = 64;
    public const int MaxDepth = 4;
    public const int MaxMatchAnyValues = 1024;

    public abstract bool Matches(IndexedValues values);

    /// <summary>
    /// Text that two compiled filters share exactly when they test the same fields against the same values
    /// in the same structure (keywords length-prefixed, bounds round-tripped): the key of a collection's
    /// cached <see cref="MatchingKeySet"/>s, so a filter repeated across searches reuses one set.
    /// </summary>
    public abstract string Key { get; }

    /// <summary>An upper bound of the matching points from the postings, or null when none can be given.</summary>
    public abstract long? UpperBound(KeywordPostings postings);

    /// <summary>Keys of a superset of the matching points; only called when <see cref="UpperBound"/> is not null.</summary>
    public abstract IEnumerable<ulong> Candidates(KeywordPostings postings);

    /// <summary>Validates against the schema and limits, and compiles; a bad filter is INVALID_ARGUMENT with the reason.</summary>
    public static CompiledFilter Compile(FilterExpression filter, PayloadSchema schema)
    {
        var conditions = 0;
        var compiled = Compile(filter, schema, depth: 1, ref conditions);
        if (conditions == 0)
        {
            throw RetrievalException.Invalid("filter: the filter has no conditions; leave it unset to match every point.");
        }
        return compiled;
    }

    private static CompiledFilter Compile(FilterExpression expression, PayloadSchema schema, int depth, ref int conditions)
    {
        switch (expression)
        {
            case BooleanExpression boolean:
                if (depth > MaxDepth)
                {
                    throw RetrievalException.Invalid($"filter: nested deeper than {MaxDepth} levels.");
                }
                return new BooleanFilter(
                    CompileAll(boolean.Must, schema, depth, ref conditions),
                    CompileAll(boolean.Should, schema, depth, ref conditions),
                    CompileAll(boolean.MustNot, schema, depth, ref conditions));
            case MatchExpression match:
                if (match.Keywords.Count is 0 or > MaxMatchAnyValues)
                {
                    throw RetrievalException.Invalid($"filter: {match.Condition} on \"{match.Key}\" needs 1..{MaxMatchAnyValues} values; got {match.Keywords.Count}.");
                }
                return new KeywordMatch(schema.Resolve(match.Key, PayloadFieldKind.Keyword, match.Condition), [.. match.Keywords.Distinct(StringComparer.Ordinal)]);
            case RangeExpression range:
                return CompileRange(range, schema);
            default:
                throw new ArgumentException($"Unknown filter expression {expression.GetType().Name}.", nameof(expression));
        }
    }

    private static CompiledFilter[] CompileAll(IReadOnlyList<FilterExpression> expressions, PayloadSchema schema, int depth, ref int conditions)
    {
        var compiled = new CompiledFilter[expressions.Count];
        for (var i = 0; i < compiled.Length; i++)
        {
            if (++conditions > MaxConditions)
            {
                throw RetrievalException.Invalid($"filter: more than {MaxConditions} conditions.");
            }
            compiled[i] = Compile(expressions[i], schema, depth + 1, ref conditions);
        }
        return compiled;
    }

    private static NumericRange CompileRange(RangeExpression range, PayloadSchema schema)
    {
        var key = range.Key;
        var position = schema.Resolve(key, PayloadFieldKind.Numeric, "range");
        if (range.Gt is null && range.Gte is null && range.Lt is null && range.Lte is null)
        {
            throw RetrievalException.Invalid($"filter: the range on \"{key}\" has no bound; set gt, gte, lt or lte.");
        }
        double?[] bounds = [range.Gt, range.Gte, range.Lt, range.Lte];
        if (bounds.Any(b => b is { } value && !double.IsFinite(value)))
        {
            throw RetrievalException.Invalid($"filter: the range on \"{key}\" has a NaN or infinite bound.");
        }
        var lower = Math.Max(range.Gt ?? double.NegativeInfinity, range.Gte ?? double.NegativeInfinity);
        var upper = Math.Min(range.Lt ?? double.PositiveInfinity, range.Lte ?? double.PositiveInfinity);
        if (lower > upper)
        {
            throw RetrievalException.Invalid($"filter: the range on \"{key}\" is empty: its lower bound {lower} is above its upper bound {upper}.");
        }
        return new NumericRange(position, range.Gt, range.Gte, range.Lt, range.Lte);
    }

    private sealed class BooleanFilter(CompiledFilter[] must, CompiledFilter[] should, CompiledFilter[] mustNot) : CompiledFilter
    {
        public override string Key { get; } =
            $"(must[{string.Concat(must.Select(c => c.Key))}]should[{string.Concat(should.Select(c => c.Key))}]not[{string.Concat(mustNot.Select(c => c.Key))}])";

        public override bool Matches(IndexedValues values)
        {
            foreach (var condition in must)
            {
                if (!condition.Matches(values))
                {
                    return false;
                }
            }
            foreach (var condition in mustNot)
            {
                if (condition.Matches(values))
                {
                    return false;
                }
            }
            if (should.Length == 0)
            {
                return true;
            }
            foreach (var condition in should)
            {
                if (condition.Matches(values))
                {
                    return true;
                }
            }
            return false;
        }

        public override long? UpperBound(KeywordPostings postings) => Best(postings).Bound;

        public override IEnumerable<ulong> Candidates(KeywordPostings postings)
        {
            var (bound, source) = Best(postings);
            return bound is null ? throw new InvalidOperationException("No bound: the caller must scan.") : source!(postings);
        }

        // The tightest bound: the smallest must bound, or the sum of the should bounds when all have one.
        private (long? Bound, Func<KeywordPostings, IEnumerable<ulong>>? Source) Best(KeywordPostings postings)
        {
            long? best = null;
            Func<KeywordPostings, IEnumerable<ulong>>? source = null;
            foreach (var condition in must)
            {
                var bound = condition.UpperBound(postings);
                if (bound is not null && (best is null || bound < best))
                {
                    best = bound;
                    source = condition.Candidates;
                }
            }
            if (should.Length > 0)
            {
                var bounds = should.Select(c => c.UpperBound(postings)).ToArray();
                if (bounds.All(b => b is not null))
                {
                    var sum = bounds.Sum(b => b!.Value);
                    if (best is null || sum < best)
                    {
                        best = sum;
                        source = p => should.SelectMany(c => c.Candidates(p));
                    }
                }
            }
            return (best, source);
        }
    }

    private sealed class KeywordMatch(int field, string[] keywords) : CompiledFilter
    {
        public override string Key { get; } = $"(match {field}{string.Concat(keywords.Select(k => $" {k.Length}:{k}"))})";

        public override bool Matches(IndexedValues values)
        {
            var held = values.Keywords[field];
            foreach (var keyword in keywords)
            {
                foreach (var value in held)
                {
                    if (string.Equals(value, keyword, StringComparison.Ordinal))
                    {
                        return true;
                    }
                }
            }
            return false;
        }

        public override long? UpperBound(KeywordPostings postings) => keywords.Sum(k => (long)postings.Count(field, k));

        public override IEnumerable<ulong> Candidates(KeywordPostings postings) => keywords.SelectMany(k => postings.Keys(field, k));
    }

    private sealed class NumericRange(int field, double? gt, double? gte, double? lt, double? lte) : CompiledFilter
    {
        public override string Key { get; } = string.Create(CultureInfo.InvariantCulture, $"(range {field} {gt:R} {gte:R} {lt:R} {lte:R})");

        public override bool Matches(IndexedValues values)
        {
            foreach (var number in values.Numbers[field])
            {
                if ((gt is null || number > gt) && (gte is null || number >= gte) && (lt is null || number < lt) && (lte is null || number <= lte))
                {
                    return true;
                }
            }
            return false;
        }

        public override long? UpperBound(KeywordPostings postings) => null;

        public override IEnumerable<ulong> Candidates(KeywordPostings postings) => throw new InvalidOperationException("A range has no postings.");
    }
}
