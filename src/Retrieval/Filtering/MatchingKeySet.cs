namespace Mesh.Retrieval.Filtering;

/// <summary>
/// The index keys of the points a filter matches, as a bitset built from the keyword postings, so that the
/// predicate a filtered graph walk calls for every node it visits is a bit test instead of a record lookup
/// plus a walk of the filter tree. Each candidate is checked with the same test as the per-node predicate
/// (current record, <see cref="CompiledFilter.Matches"/>), so the walk admits the same points and returns
/// the same hits. Immutable once built: <see cref="MatchingKeySetCache"/> shares one set between concurrent
/// searches until a write changes the collection.
/// </summary>
internal sealed class MatchingKeySet
{
    private readonly ulong[] _bits;
    private readonly ulong _limit;

    private MatchingKeySet(ulong[] bits, ulong limit)
    {
        _bits = bits;
        _limit = limit;
    }

    /// <summary>Bytes the set holds (one bit per key below its limit).</summary>
    public long Bytes => (long)_bits.Length * sizeof(ulong);

    /// <summary>
    /// The matching keys among <paramref name="candidates"/> (a superset, from the postings), all below
    /// <paramref name="keyLimit"/>; <paramref name="matches"/> is the per-point test.
    /// </summary>
    public static MatchingKeySet Build(IEnumerable<ulong> candidates, ulong keyLimit, Func<ulong, bool> matches)
    {
        var bits = new ulong[Math.Max((keyLimit + 63) / 64, 1)];
        foreach (var key in candidates)
        {
            // A key assigned after the limit was read belongs to a write that raced this search: left out,
            // as a live predicate would have to leave it out of a walk that had already passed it.
            if (key < keyLimit && matches(key))
            {
                bits[key >> 6] |= 1UL << (int)(key & 63);
            }
        }
        return new MatchingKeySet(bits, keyLimit);
    }

    /// <summary>Whether <paramref name="key"/> matched when the set was built.</summary>
    public bool Contains(ulong key) => key < _limit && (_bits[key >> 6] & (1UL << (int)(key & 63))) != 0;
}
