using Mesh.Retrieval.V1;

namespace Mesh.Retrieval.Filtering;

/// <summary>
/// A validated <see cref="Filter"/>, compiled against a collection's <see cref="PayloadSchema"/> into a tree
/// that tests a point's indexed values (called from inside the HNSW walk, so it allocates nothing) and
/// bounds how many points it can match from the keyword postings (for the planner).
/// </summary>
internal abstract class CompiledFilter
{
    public const int MaxConditions = 64;
    public const int MaxDepth = 4;
    public const int MaxMatchAnyValues = 1024;

    public abstract bool Matches(IndexedValues values);

    /// <summary>An upper bound of the matching points from the postings, or null when none can be given.</summary>
    public abstract long? UpperBound(KeywordPostings postings);

    /// <summary>Keys of a superset of the matching points; only called when <see cref="UpperBound"/> is not null.</summary>
    public abstract IEnumerable<ulong> Candidates(KeywordPostings postings);

    /// <summary>Validates and compiles; a malformed filter is INVALID_ARGUMENT with the reason.</summary>
    public static CompiledFilter Compile(Filter filter, PayloadSchema schema)
    {
        var conditions = 0;
        var compiled = CompileFilter(filter, schema, depth: 1, ref conditions);
        if (conditions == 0)
        {
            throw RetrievalException.Invalid("filter: the filter has no conditions; leave it unset to match every point.");
        }
        return compiled;
    }

    private static BooleanFilter CompileFilter(Filter filter, PayloadSchema schema, int depth, ref int conditions)
    {
        if (depth > MaxDepth)
        {
            throw RetrievalException.Invalid($"filter: nested deeper than {MaxDepth} levels.");
        }
        var must = new CompiledFilter[filter.Must.Count];
        for (var i = 0; i < must.Length; i++)
        {
            must[i] = CompileCondition(filter.Must[i], schema, depth, ref conditions);
        }
        var should = new CompiledFilter[filter.Should.Count];
        for (var i = 0; i < should.Length; i++)
        {
            should[i] = CompileCondition(filter.Should[i], schema, depth, ref conditions);
        }
        var mustNot = new CompiledFilter[filter.MustNot.Count];
        for (var i = 0; i < mustNot.Length; i++)
        {
            mustNot[i] = CompileCondition(filter.MustNot[i], schema, depth, ref conditions);
        }
        return new BooleanFilter(must, should, mustNot);
    }

    private static CompiledFilter CompileCondition(Condition condition, PayloadSchema schema, int depth, ref int conditions)
    {
        if (++conditions > MaxConditions)
        {
            throw RetrievalException.Invalid($"filter: more than {MaxConditions} conditions.");
        }
        switch (condition.ConditionCase)
        {
            case Condition.ConditionOneofCase.Filter:
                return CompileFilter(condition.Filter, schema, depth + 1, ref conditions);
            case Condition.ConditionOneofCase.Field:
                return CompileField(condition.Field, schema);
            default:
                throw RetrievalException.Invalid("filter: a condition must set field or filter.");
        }
    }

    private static CompiledFilter CompileField(FieldCondition field, PayloadSchema schema)
    {
        switch (field.TestCase)
        {
            case FieldCondition.TestOneofCase.Match:
                return new KeywordMatch(schema.Resolve(field.Key, PayloadIndexKind.Keyword, "match"), [PayloadSchema.KeywordOf(field.Match)]);
            case FieldCondition.TestOneofCase.MatchAny:
                var values = field.MatchAny.Values;
                if (values.Count is 0 or > MaxMatchAnyValues)
                {
                    throw RetrievalException.Invalid($"filter: match_any on \"{field.Key}\" needs 1..{MaxMatchAnyValues} values; got {values.Count}.");
                }
                return new KeywordMatch(
                    schema.Resolve(field.Key, PayloadIndexKind.Keyword, "match_any"),
                    [.. values.Select(PayloadSchema.KeywordOf).Distinct(StringComparer.Ordinal)]);
            case FieldCondition.TestOneofCase.Range:
                return CompileRange(field.Key, field.Range, schema);
            default:
                throw RetrievalException.Invalid($"filter: the condition on \"{field.Key}\" must set match, match_any or range.");
        }
    }

    private static NumericRange CompileRange(string key, V1.Range range, PayloadSchema schema)
    {
        var position = schema.Resolve(key, PayloadIndexKind.Numeric, "range");
        if (!range.HasGt && !range.HasGte && !range.HasLt && !range.HasLte)
        {
            throw RetrievalException.Invalid($"filter: the range on \"{key}\" has no bound; set gt, gte, lt or lte.");
        }
        double[] bounds = [range.Gt, range.Gte, range.Lt, range.Lte];
        if (bounds.Any(b => !double.IsFinite(b)))
        {
            throw RetrievalException.Invalid($"filter: the range on \"{key}\" has a NaN or infinite bound.");
        }
        var lower = Math.Max(range.HasGt ? range.Gt : double.NegativeInfinity, range.HasGte ? range.Gte : double.NegativeInfinity);
        var upper = Math.Min(range.HasLt ? range.Lt : double.PositiveInfinity, range.HasLte ? range.Lte : double.PositiveInfinity);
        if (lower > upper)
        {
            throw RetrievalException.Invalid($"filter: the range on \"{key}\" is empty: its lower bound {lower} is above its upper bound {upper}.");
        }
        return new NumericRange(position, range.HasGt ? range.Gt : null, range.HasGte ? range.Gte : null, range.HasLt ? range.Lt : null, range.HasLte ? range.Lte : null);
    }

    private sealed class BooleanFilter(CompiledFilter[] must, CompiledFilter[] should, CompiledFilter[] mustNot) : CompiledFilter
    {
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
