using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Caching.Memory;

namespace Mesh.Retrieval.Embedding;

/// <summary>
/// An <see cref="ITextEmbedder"/> that remembers the vectors of single texts: a text query, an Embed call
/// of one text, an upsert of one point. A question asked again — the assistant's popular questions,
/// a client retrying — is then a hash lookup instead of a MiniLM run (milliseconds on two cores, the
/// largest part of a text search). Batches (bulk upserts, whose texts are mostly seen once) go straight
/// to the inner embedder and are not cached.
/// <para>
/// Bounded by entry count (least recently used first out, as <see cref="MemoryCache"/> compacts); each
/// entry is <see cref="ITextEmbedder.Dimensions"/> floats, so 4,096 MiniLM entries hold about 6 MiB.
/// Keyed by a SHA-256 of the exact text: vectors are the embedder's function of the text alone, so a
/// cached vector is the vector the embedder would return, for every tenant alike. Callers get a copy.
/// </para>
/// </summary>
public sealed class QueryEmbeddingCache : ITextEmbedder, IDisposable
{
    private readonly ITextEmbedder _inner;
    private readonly MemoryCache? _cache;

    /// <summary>Caches up to <paramref name="entries"/> vectors of <paramref name="inner"/>; 0 turns caching off.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="entries"/> is negative.</exception>
    public QueryEmbeddingCache(ITextEmbedder inner, int entries)
    {
        ArgumentNullException.ThrowIfNull(inner);
        ArgumentOutOfRangeException.ThrowIfNegative(entries);
        _inner = inner;
        _cache = entries == 0 ? null : new MemoryCache(new MemoryCacheOptions { SizeLimit = entries });
    }

    /// <inheritdoc/>
    public string Name => _inner.Name;

    /// <inheritdoc/>
    public int Dimensions => _inner.Dimensions;

    /// <summary>Vectors of <paramref name="texts"/>, one per text in order; a single text is served from (or added to) the cache.</summary>
    public float[][] Embed(IReadOnlyList<string> texts, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(texts);
        if (_cache is null || texts.Count != 1)
        {
            return _inner.Embed(texts, cancellationToken);
        }

        var key = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(texts[0])));
        if (!_cache.TryGetValue(key, out float[]? vector) || vector is null)
        {
            vector = _inner.Embed(texts, cancellationToken)[0];
            _cache.Set(key, vector, new MemoryCacheEntryOptions { Size = 1 });
        }
        return [(float[])vector.Clone()];
    }

    /// <inheritdoc/>
    public int CountTokens(string text) => _inner.CountTokens(text);

    /// <summary>Drops the cached vectors (the inner embedder belongs to its owner).</summary>
    public void Dispose() => _cache?.Dispose();
}
