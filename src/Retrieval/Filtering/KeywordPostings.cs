using System.Collections.Concurrent;
using Mesh.Retrieval.Collections;

namespace Mesh.Retrieval.Filtering;

/// <summary>
/// Inverted index of the keyword fields: for each (field, value), the index keys of the points holding it.
/// It tells the planner how many points a keyword condition can match without looking at them, and hands
/// out those points for exact search. Writers are serialised by the collection; readers run concurrently.
/// </summary>
internal sealed class KeywordPostings
{
    private readonly ConcurrentDictionary<string, ConcurrentDictionary<ulong, byte>>[] _byField;

    public KeywordPostings(int fields)
    {
        _byField = new ConcurrentDictionary<string, ConcurrentDictionary<ulong, byte>>[fields];
        for (var i = 0; i < fields; i++)
        {
            _byField[i] = new(StringComparer.Ordinal);
        }
    }

    public void Add(PointRecord record)
    {
        for (var field = 0; field < _byField.Length; field++)
        {
            foreach (var keyword in record.Values.Keywords[field] ?? [])
            {
                _byField[field].GetOrAdd(keyword, _ => new ConcurrentDictionary<ulong, byte>())[record.Key] = 0;
            }
        }
    }

    public void Remove(PointRecord record)
    {
        for (var field = 0; field < _byField.Length; field++)
        {
            foreach (var keyword in record.Values.Keywords[field] ?? [])
            {
                if (_byField[field].TryGetValue(keyword, out var keys))
                {
                    keys.TryRemove(record.Key, out _);
                }
            }
        }
    }

    public int Count(int field, string keyword) =>
        _byField[field].TryGetValue(keyword, out var keys) ? keys.Count : 0;

    public IEnumerable<ulong> Keys(int field, string keyword) =>
        _byField[field].TryGetValue(keyword, out var keys) ? keys.Keys : [];
}
