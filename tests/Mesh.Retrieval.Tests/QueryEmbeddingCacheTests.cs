using Mesh.Retrieval.Embedding;

namespace Mesh.Retrieval.Tests;

/// <summary>A repeated query text is embedded once; batches, and a cache of size 0, always reach the embedder.</summary>
public sealed class QueryEmbeddingCacheTests
{
    private sealed class CountingEmbedder : ITextEmbedder
    {
        public int Texts;
        public string Name => "counting";
        public int Dimensions => 2;
        public int CountTokens(string text) => text.Length;
        public float[][] Embed(IReadOnlyList<string> texts, CancellationToken cancellationToken = default)
        {
            Interlocked.Add(ref Texts, texts.Count);
            return [.. texts.Select(t => new[] { t.Length, 1f })];
        }
    }

    [Fact]
    public void A_repeated_text_is_embedded_once_and_each_caller_gets_its_own_copy()
    {
        var inner = new CountingEmbedder();
        using var cache = new QueryEmbeddingCache(inner, entries: 16);

        var first = cache.Embed(["trail shoes"])[0];
        first[0] = -1; // a caller changing its vector must not change the cached one
        var second = cache.Embed(["trail shoes"])[0];

        Assert.Equal(1, inner.Texts);
        Assert.Equal([11f, 1f], second);
        Assert.Equal([4f, 1f], cache.Embed(["tent"])[0]);
        Assert.Equal(2, inner.Texts);
    }

    [Fact]
    public void Batches_and_a_disabled_cache_always_reach_the_embedder()
    {
        var inner = new CountingEmbedder();
        using (var cache = new QueryEmbeddingCache(inner, entries: 16))
        {
            cache.Embed(["a", "b"]);
            cache.Embed(["a", "b"]);
            Assert.Equal(4, inner.Texts);
        }

        using var off = new QueryEmbeddingCache(inner, entries: 0);
        off.Embed(["a"]);
        off.Embed(["a"]);
        Assert.Equal(6, inner.Texts);
        Assert.Throws<ArgumentOutOfRangeException>(() => new QueryEmbeddingCache(inner, -1));
    }
}
