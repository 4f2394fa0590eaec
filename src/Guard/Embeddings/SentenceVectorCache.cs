namespace Mesh.Guard.Embeddings;

/// <summary>
/// A bounded least-recently-used cache of sentence vectors in front of an <see cref="ITextEmbedder"/>:
/// a chat resends its whole history every turn, a RAG prompt carries the same chunks again and
/// again, a system prompt opens every request; each such sentence is embedded once while it is in
/// use. At most <c>capacity</c> vectors (384 floats, 1.5 KB each) are kept, and only texts of at
/// most <see cref="MaxKeyChars"/> characters are cached, so memory is bounded by
/// capacity × (1.5 KB + 2 × <see cref="MaxKeyChars"/> bytes). Misses go to the inner embedder in
/// one call. Thread-safe; vectors are shared between callers: treat them as read-only.
/// </summary>
public sealed class SentenceVectorCache : ITextEmbedder, IDisposable
{
    /// <summary>Longest text cached, in UTF-16 units; a segment is at most 48 words, so a longer one is rare and odd.</summary>
    public const int MaxKeyChars = 1024;

    private readonly ITextEmbedder _inner;
    private readonly int _capacity;
    private readonly Dictionary<string, LinkedListNode<(string Text, float[] Vector)>> _entries = new(StringComparer.Ordinal);
    private readonly LinkedList<(string Text, float[] Vector)> _recency = new();
    private readonly Lock _lock = new();
    private long _hits;
    private long _misses;

    /// <param name="inner">Computes the vectors not cached.</param>
    /// <param name="capacity">Most vectors kept; 0 turns the cache off.</param>
    public SentenceVectorCache(ITextEmbedder inner, int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(capacity);
        _inner = inner;
        _capacity = capacity;
    }

    /// <inheritdoc />
    public int Dimensions => _inner.Dimensions;

    /// <summary>The embedder behind the cache.</summary>
    public ITextEmbedder Inner => _inner;

    /// <summary>Vectors held now.</summary>
    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _entries.Count;
            }
        }
    }

    /// <summary>Texts answered from the cache so far.</summary>
    public long Hits => Interlocked.Read(ref _hits);

    /// <summary>Texts sent to the inner embedder so far.</summary>
    public long Misses => Interlocked.Read(ref _misses);

    /// <inheritdoc />
    public float[][] Embed(IReadOnlyList<string> texts, CancellationToken cancellationToken = default)
    {
        if (_capacity == 0)
        {
            Interlocked.Add(ref _misses, texts.Count);
            return _inner.Embed(texts, cancellationToken);
        }
        var result = new float[texts.Count][];
        var missing = new List<int>();
        lock (_lock)
        {
            for (var i = 0; i < texts.Count; i++)
            {
                if (_entries.TryGetValue(texts[i], out var node))
                {
                    _recency.Remove(node);
                    _recency.AddFirst(node);
                    result[i] = node.Value.Vector;
                }
                else
                {
                    missing.Add(i);
                }
            }
        }
        Interlocked.Add(ref _hits, texts.Count - missing.Count);
        Interlocked.Add(ref _misses, missing.Count);
        if (missing.Count == 0)
        {
            return result;
        }
        // The model runs outside the lock: other checks read the cache meanwhile.
        var computed = _inner.Embed([.. missing.Select(i => texts[i])], cancellationToken);
        lock (_lock)
        {
            for (var k = 0; k < missing.Count; k++)
            {
                var text = texts[missing[k]];
                result[missing[k]] = computed[k];
                if (text.Length > MaxKeyChars || _entries.ContainsKey(text))
                {
                    continue;
                }
                _entries[text] = _recency.AddFirst((text, computed[k]));
                if (_entries.Count > _capacity)
                {
                    _entries.Remove(_recency.Last!.Value.Text);
                    _recency.RemoveLast();
                }
            }
        }
        return result;
    }

    /// <summary>Disposes the inner embedder when it is disposable.</summary>
    public void Dispose() => (_inner as IDisposable)?.Dispose();
}
