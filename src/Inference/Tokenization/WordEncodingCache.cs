using System.Collections.Concurrent;

namespace Mesh.Inference.Tokenization;

/// <summary>
/// The ids of recently encoded words, shared by all requests to one tokenizer: natural text repeats its
/// words, and a lookup is far cheaper than BPE. Bounded: long words are not kept, and when the cache is
/// full it starts over, so memory stays within about <see cref="Capacity"/> short entries.
/// </summary>
internal sealed class WordEncodingCache
{
    public const int Capacity = 65536;
    public const int MaxWordLength = 48;

    private readonly ConcurrentDictionary<string, int[]> _words = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, int[]>.AlternateLookup<ReadOnlySpan<char>> _lookup;
    private int _count;

    public WordEncodingCache()
    {
        _lookup = _words.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    public bool TryGet(ReadOnlySpan<char> word, out int[] ids) => _lookup.TryGetValue(word, out ids!);

    public void Add(ReadOnlySpan<char> word, ReadOnlySpan<int> ids)
    {
        if (word.Length > MaxWordLength)
        {
            return;
        }

        // Counted here: ConcurrentDictionary.Count takes every lock of the table, too slow per word.
        if (_lookup.TryAdd(word, ids.ToArray()) && Interlocked.Increment(ref _count) >= Capacity)
        {
            _words.Clear();
            Volatile.Write(ref _count, 0);
        }
    }
}
