using Mesh.Guard.Embeddings;

namespace Mesh.Guard.Tests;

/// <summary>The bounded LRU cache of sentence vectors in front of the model.</summary>
public sealed class SentenceVectorCacheTests
{
    [Fact]
    public void Keeps_the_most_recently_used_vectors_up_to_its_capacity()
    {
        var model = new ZeroEmbedder();
        var cache = new SentenceVectorCache(model, capacity: 2);

        var ab = cache.Embed(["a", "b"]);
        Assert.Equal(2, model.Embedded);
        Assert.Same(ab[0], cache.Embed(["a"])[0]);            // hit; recency a, b
        cache.Embed(["c"]);                                   // miss; b, the least recently used, goes
        Assert.Equal(3, model.Embedded);
        Assert.Same(ab[0], cache.Embed(["a"])[0]);            // a stayed
        cache.Embed(["b"]);                                   // b was evicted: embedded again
        Assert.Equal(4, model.Embedded);
        Assert.Equal(2, cache.Count);
        Assert.Equal((2L, 4L), (cache.Hits, cache.Misses));
    }

    [Fact]
    public void Sends_only_the_misses_to_the_model_in_input_order_and_skips_overlong_texts()
    {
        var model = new ZeroEmbedder();
        var cache = new SentenceVectorCache(model, capacity: 16);
        var overlong = new string('x', SentenceVectorCache.MaxKeyChars + 1);
        cache.Embed(["a", overlong]);

        var vectors = cache.Embed(["a", "new", overlong]);

        Assert.Equal(3, vectors.Length);
        Assert.Equal(4, model.Embedded);                      // "new" and the overlong text again
        Assert.Equal(2, cache.Count);
    }

    [Fact]
    public void Capacity_zero_caches_nothing()
    {
        var model = new ZeroEmbedder();
        var cache = new SentenceVectorCache(model, capacity: 0);
        cache.Embed(["a"]);
        cache.Embed(["a"]);
        Assert.Equal(2, model.Embedded);
        Assert.Equal(0, cache.Count);
        Assert.Throws<ArgumentOutOfRangeException>(() => new SentenceVectorCache(model, -1));
    }
}
