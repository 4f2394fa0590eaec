using Mesh.Inference.Engine;
using Mesh.Inference.Sampling;

namespace Mesh.Inference.Tests.Engine;

/// <summary>
/// The KV cache manager and block pool without a model: prefix reuse is verified by tokens, parent
/// block and tenant, never by the hash alone; blocks come back when sequences are freed.
/// </summary>
public sealed class KvCacheManagerTests
{
    private const int BlockSize = 4;

    [Fact]
    public void ARepeatedPromptReusesTheFullBlocksOfTheSameTenantOnly()
    {
        var kv = new KvCacheManager(new KvBlockAllocator(32, BlockSize, enablePrefixCaching: true));
        int[] prompt = [.. Enumerable.Range(10, 10)];
        Compute(kv, Sequence(prompt, "tenant-a"));

        Assert.Equal(8, kv.AllocateComputedBlocks(Sequence(prompt, "tenant-a"))); // 2 full blocks; the last token is always computed
        Assert.Equal(0, kv.AllocateComputedBlocks(Sequence(prompt, "tenant-b")));
        Assert.Equal(4, kv.AllocateComputedBlocks(Sequence([.. prompt[..4], 99, 98, 97, 96, 95], "tenant-a"))); // the shared first block only
    }

    [Fact]
    public void AForcedHashCollisionNeverServesAnotherPromptsBlocks()
    {
        // Every block hashes alike: only token comparison tells them apart.
        var kv = new KvCacheManager(new KvBlockAllocator(32, BlockSize, enablePrefixCaching: true, hasher: static (_, _) => 42));
        int[] first = [.. Enumerable.Range(10, 9)];
        int[] other = [.. Enumerable.Range(200, 9)];
        Compute(kv, Sequence(first, "t"));

        Assert.Equal(0, kv.AllocateComputedBlocks(Sequence(other, "t")));
        Assert.Equal(4, kv.AllocateComputedBlocks(Sequence(first, "t"))); // the first block was cached; the second collided and was not
    }

    [Fact]
    public void ABlockIsReusedOnlyAfterTheSameParentBlock()
    {
        // A hash that ignores the parent: block [y] after [x] and after [z] look alike.
        var kv = new KvCacheManager(new KvBlockAllocator(32, BlockSize, enablePrefixCaching: true, hasher: static (_, tokens) => KvBlockAllocator.HashBlock(0, tokens)));
        int[] x = [1, 2, 3, 4], y = [5, 6, 7, 8], z = [9, 10, 11, 12];
        Compute(kv, Sequence([.. x, .. y, 0], "t"));
        Compute(kv, Sequence([.. z, .. y, 0], "t")); // its [y] is not registered: the hash is taken by [y] after [x]

        Assert.Equal(8, kv.AllocateComputedBlocks(Sequence([.. x, .. y, 0], "t")));
        Assert.Equal(4, kv.AllocateComputedBlocks(Sequence([.. z, .. y, 0], "t"))); // [z] only: the cached [y] followed [x]
    }

    [Fact]
    public void FreedBlocksReturnAndIdleCachedBlocksAreEvictedWhenThePoolNeedsThem()
    {
        var pool = new KvBlockAllocator(4, BlockSize, enablePrefixCaching: true);
        var kv = new KvCacheManager(pool);
        var s = Sequence([.. Enumerable.Range(10, 16)], "t");
        Compute(kv, s);
        Assert.Equal(4, pool.CachedIdleBlocks);
        Assert.Equal(0, pool.UsedBlocks);

        var big = Sequence([.. Enumerable.Range(500, 16)], "t");
        Assert.True(kv.TryAllocateSlots(big, 16)); // takes every idle cached block
        Assert.Equal(0, pool.CachedIdleBlocks);
        Assert.False(kv.TryAllocateSlots(Sequence([1, 2], "t"), 2));
        Assert.Equal(0, kv.AllocateComputedBlocks(Sequence([.. Enumerable.Range(10, 16)], "t"))); // evicted: nothing to reuse
        kv.Free(big);
        Assert.Equal(4, pool.AvailableBlocks);
    }

    [Fact]
    public void ReleasingABlockTwiceIsRefused()
    {
        var pool = new KvBlockAllocator(2, BlockSize, enablePrefixCaching: false);
        Assert.True(pool.TryAllocate(out var block));
        pool.Release(block);
        Assert.Throws<InvalidOperationException>(() => pool.Release(block));
    }

    private static Sequence Sequence(int[] prompt, string tenant) =>
        new(new GenerationRequest(prompt, 8, SamplingParameters.Greedy, [], CacheSalt: tenant), 0, null, null, default);

    /// <summary>Runs a sequence's whole prompt through the cache as the scheduler would, then frees it.</summary>
    private static void Compute(KvCacheManager kv, Sequence s)
    {
        s.Computed = kv.AllocateComputedBlocks(s);
        Assert.True(kv.TryAllocateSlots(s, s.Tokens.Count));
        s.Computed = s.Tokens.Count;
        kv.CacheFullBlocks(s);
        kv.Free(s);
    }
}
