namespace Mesh.Inference.StructuredOutput;

/// <summary>
/// Compiles formats once per (format, vocabulary) and keeps the most recently used
/// <see cref="Capacity"/> of them (a bounded LRU), so repeated schemas cost nothing after the first
/// request and their automaton and mask caches stay warm. Memory per format is bounded by
/// <see cref="GrammarMatcher.MaxStates"/> memoized states (2 KiB of transitions each) and all formats'
/// masks by <see cref="CompiledFormat.MaxMaskCacheBytes"/>. Thread-safe.
/// </summary>
internal sealed class ResponseFormatCache(int capacity = 32)
{
    private readonly object _gate = new();
    private readonly Dictionary<(string Key, TokenVocabulary Vocabulary), LinkedListNode<((string, TokenVocabulary) Key, CompiledFormat Format)>> _entries = [];
    private readonly LinkedList<((string, TokenVocabulary) Key, CompiledFormat Format)> _order = new();

    public int Capacity { get; } = Math.Max(1, capacity);

    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _entries.Count;
            }
        }
    }

    /// <summary>The compiled format, from the cache or compiled now.</summary>
    /// <exception cref="GrammarException">The format cannot be compiled.</exception>
    public CompiledFormat Get(ResponseFormat format, TokenVocabulary vocabulary)
    {
        var key = (format.Key, vocabulary);
        lock (_gate)
        {
            if (_entries.TryGetValue(key, out var node))
            {
                _order.Remove(node);
                _order.AddFirst(node);
                return node.Value.Format;
            }
        }

        // Compiled outside the lock: two racing requests may both compile; the second result is dropped.
        var compiled = new CompiledFormat(format.Compile(), vocabulary);
        lock (_gate)
        {
            if (_entries.TryGetValue(key, out var raced))
            {
                return raced.Value.Format;
            }

            _entries[key] = _order.AddFirst((key, compiled));
            while (_entries.Count > Capacity)
            {
                _entries.Remove(_order.Last!.Value.Key);
                _order.Last.Value.Format.Release();
                _order.RemoveLast();
            }

            return compiled;
        }
    }
}
