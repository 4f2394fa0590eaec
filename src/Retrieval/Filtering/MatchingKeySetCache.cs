using System.Collections.Concurrent;

namespace Mesh.Retrieval.Filtering;

/// <summary>
/// A collection's <see cref="MatchingKeySet"/>s by filter (<see cref="CompiledFilter.Key"/>), so that a
/// filter repeated across searches (a tenant's, a category's) is resolved to keys once instead of once per
/// search: building a set looks up and tests every candidate of the postings, which at 10% of 116k points
/// cost more than the filtered graph walk itself.
/// <para>
/// A set is only reused while no write has been applied since it was built: the owning segment calls
/// <see cref="WritesApplied"/> after each one (upsert, delete, payload change), which retires every set.
/// The generation is read before a set is built, so a set built while a write was being applied is
/// tagged with the generation before it and never reused once that write completes. A search that uses a
/// cached set sees the collection as of a moment no later than its own start, as a search that built its
/// own set at its start would.
/// </para>
/// Bounded by count and bytes (one bit per key); when full, stale sets go first, then arbitrary ones.
/// Thread-safe.
/// </summary>
internal sealed class MatchingKeySetCache(long maxBytes = MatchingKeySetCache.DefaultMaxBytes, int maxSets = MatchingKeySetCache.DefaultMaxSets)
{
    /// <summary>Default byte budget: 16 MiB, about 12 sets of a 10-million-point collection.</summary>
    public const long DefaultMaxBytes = 16L << 20;

    /// <summary>Default most sets kept.</summary>
    public const int DefaultMaxSets = 64;

    private readonly ConcurrentDictionary<string, Entry> _sets = new(StringComparer.Ordinal);
    private long _generation;

    /// <summary>Sets currently kept (stale ones included until they are replaced or evicted).</summary>
    public int Count => _sets.Count;

    /// <summary>Retires every cached set: call after a write has been applied in full.</summary>
    public void WritesApplied() => Interlocked.Increment(ref _generation);

    /// <summary>
    /// The set of <paramref name="filter"/> built since the last write, or a new one from
    /// <paramref name="build"/> (kept for later searches when it fits the budget).
    /// </summary>
    public MatchingKeySet GetOrBuild(CompiledFilter filter, Func<MatchingKeySet> build)
    {
        var generation = Volatile.Read(ref _generation);
        var key = filter.Key;
        if (_sets.TryGetValue(key, out var cached) && cached.Generation == generation)
        {
            return cached.Set;
        }
        var set = build();
        var fits = (int)Math.Min(maxSets, maxBytes / Math.Max(set.Bytes, 1));
        if (fits < 1)
        {
            return set;
        }
        if (_sets.Count >= fits)
        {
            MakeRoom(fits, generation);
        }
        var entry = new Entry(generation, set);
        // A racing search may have stored a set of a later generation meanwhile: keep the newer one.
        _sets.AddOrUpdate(key, entry, (_, existing) => existing.Generation > generation ? existing : entry);
        return set;
    }

    private void MakeRoom(int fits, long generation)
    {
        foreach (var (key, entry) in _sets)
        {
            if (entry.Generation != generation)
            {
                _sets.TryRemove(key, out _);
            }
        }
        foreach (var (key, _) in _sets)
        {
            if (_sets.Count < fits)
            {
                break;
            }
            _sets.TryRemove(key, out _);
        }
    }

    private sealed record Entry(long Generation, MatchingKeySet Set);
}
