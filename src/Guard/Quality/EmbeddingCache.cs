using System.Collections.Concurrent;
using Mesh.Guard.Embeddings;

namespace Mesh.Guard.Quality;

/// <summary>
/// Embeddings of texts seen before: a knowledge base returns the same chunks again and again, so
/// their sentences are embedded once. Bounded: when full, the cache is emptied (cheaper than LRU
/// bookkeeping, and a working set refills it in a few calls). Thread-safe.
/// </summary>
public sealed class EmbeddingCache(ITextEmbedder embedder, int capacity)
{
    private readonly ConcurrentDictionary<string, float[]> _vectors = new(StringComparer.Ordinal);

    /// <summary>The embedder behind the cache.</summary>
    public ITextEmbedder Embedder => embedder;

    /// <summary>One vector per text, in order; only texts not cached are sent to the embedder (in one batch).</summary>
    public float[][] Embed(IReadOnlyList<string> texts, CancellationToken cancellationToken)
    {
        var result = new float[texts.Count][];
        var missing = new List<int>();
        for (var i = 0; i < texts.Count; i++)
        {
            if (capacity > 0 && _vectors.TryGetValue(texts[i], out var known))
            {
                result[i] = known;
            }
            else
            {
                missing.Add(i);
            }
        }

        if (missing.Count == 0)
        {
            return result;
        }

        var computed = embedder.Embed([.. missing.Select(i => texts[i])], cancellationToken);
        if (capacity > 0 && _vectors.Count + missing.Count > capacity)
        {
            _vectors.Clear();
        }

        for (var k = 0; k < missing.Count; k++)
        {
            result[missing[k]] = computed[k];
            if (capacity > 0)
            {
                _vectors.TryAdd(texts[missing[k]], computed[k]);
            }
        }

        return result;
    }
}
