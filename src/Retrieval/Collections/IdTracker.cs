using System.Collections.Concurrent;

namespace Mesh.Retrieval.Collections;

/// <summary>
/// Maps external point ids to internal index keys and holds the current record of each point, in the
/// manner of Qdrant's id tracker (external id → internal offset). Keys are never reused: a replaced point
/// gets a fresh key, so a search racing a write resolves a key to the old or the new record, never a mix.
/// <para>Writers are serialised by the owning <see cref="Segment"/>; readers run concurrently.</para>
/// </summary>
internal sealed class IdTracker
{
    private readonly ConcurrentDictionary<ulong, PointRecord> _byKey = new();
    private readonly ConcurrentDictionary<PointKey, ulong> _byId = new();
    private ulong _nextKey = 1;

    /// <summary>Points currently stored.</summary>
    public int Count => _byKey.Count;

    /// <summary>The next free index key (keys start at 1).</summary>
    public ulong NextKey => Volatile.Read(ref _nextKey);

    /// <summary>Every current record, in no particular order (a moment-in-time view under concurrent writes).</summary>
    public ICollection<PointRecord> Points => _byKey.Values;

    /// <summary>The current record of an external id, or null.</summary>
    public PointRecord? Get(PointKey id) =>
        _byId.TryGetValue(id, out var key) && _byKey.TryGetValue(key, out var record) ? record : null;

    /// <summary>The record stored under an index key, or null when that key was replaced or deleted.</summary>
    public PointRecord? ByKey(ulong key) => _byKey.GetValueOrDefault(key);

    public bool Contains(PointKey id) => _byId.ContainsKey(id);

    /// <summary>Makes <paramref name="record"/> the current version of its id (the previous one must be removed first).</summary>
    public void Add(PointRecord record)
    {
        _byKey[record.Key] = record;
        _byId[record.Id] = record.Key;
        if (record.Key >= _nextKey)
        {
            _nextKey = record.Key + 1;
        }
    }

    /// <summary>Forgets the id; returns its record so the indexes can drop it too.</summary>
    public PointRecord? Remove(PointKey id)
    {
        if (_byId.TryRemove(id, out var key) && _byKey.TryRemove(key, out var record))
        {
            return record;
        }
        return null;
    }

    /// <summary>Restores the key counter of a snapshot (keys of deleted points stay retired).</summary>
    public void RestoreNextKey(ulong nextKey)
    {
        if (nextKey > _nextKey)
        {
            _nextKey = nextKey;
        }
    }
}
