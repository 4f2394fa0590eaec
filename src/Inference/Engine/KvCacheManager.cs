using System.Runtime.InteropServices;

namespace Mesh.Inference.Engine;

/// <summary>
/// Owns which KV blocks each sequence holds, as vLLM v1's <c>KVCacheManager</c>: finds the cached
/// prefix of a new sequence (<see cref="AllocateComputedBlocks"/>), gives it slots for the tokens a
/// step will compute (<see cref="TryAllocateSlots"/>), registers blocks as they fill
/// (<see cref="CacheFullBlocks"/>) and frees them (<see cref="Free"/>). The block pool underneath
/// (<see cref="KvBlockAllocator"/>) verifies every reuse by tokens, parent and tenant salt. Used only
/// from the scheduler's thread.
/// </summary>
internal sealed class KvCacheManager(KvBlockAllocator pool)
{
    public KvBlockAllocator Pool { get; } = pool;

    public int BlockSize => Pool.BlockSize;

    public int BlockCount => Pool.BlockCount;

    public int AvailableBlocks => Pool.AvailableBlocks;

    public int UsedBlocks => Pool.UsedBlocks;

    /// <summary>Blocks needed to hold <paramref name="tokens"/> positions.</summary>
    public int BlocksFor(int tokens) => (tokens + BlockSize - 1) / BlockSize;

    /// <summary>
    /// Takes references to the longest verified cached prefix of whole blocks of
    /// <paramref name="s"/>'s tokens for its tenant, always leaving at least one token to compute (the
    /// step that samples needs its logits). Returns the number of tokens those blocks hold.
    /// </summary>
    public int AllocateComputedBlocks(Sequence s)
    {
        var kv = s.Kv;
        if (kv.Blocks.Count != 0)
        {
            throw new InvalidOperationException("a sequence's cached prefix is looked up only while it holds no blocks");
        }

        kv.RootHash ??= Pool.RootHash(s.Request.PrefixCacheSalt);
        if (!Pool.PrefixCachingEnabled)
        {
            return 0;
        }

        var size = BlockSize;
        var tokens = CollectionsMarshal.AsSpan(s.Tokens);
        var reusable = (tokens.Length - 1) / size;
        var parentHash = kv.RootHash.Value;
        var parentKey = KvBlockAllocator.RootKey;
        for (var b = 0; b < reusable; b++)
        {
            var slice = tokens.Slice(b * size, size);
            var hash = Pool.Hash(parentHash, slice);
            if (!Pool.TryReuse(hash, slice, parentKey, s.Request.PrefixCacheSalt, out var block, out var key))
            {
                break;
            }

            kv.Add(block, hash, key);
            parentHash = hash;
            parentKey = key;
        }

        return kv.Blocks.Count * size;
    }

    /// <summary>
    /// Gives <paramref name="s"/> blocks for positions up to <paramref name="tokens"/>. False when the
    /// pool ran dry first; the blocks taken so far stay with the sequence.
    /// </summary>
    public bool TryAllocateSlots(Sequence s, int tokens)
    {
        var needed = BlocksFor(tokens);
        while (s.Kv.Blocks.Count < needed)
        {
            if (!Pool.TryAllocate(out var block))
            {
                return false;
            }

            s.Kv.Add(block);
        }

        return true;
    }

    /// <summary>Registers the blocks of <paramref name="s"/> that its computed tokens have filled.</summary>
    public void CacheFullBlocks(Sequence s)
    {
        var kv = s.Kv;
        if (!Pool.PrefixCachingEnabled)
        {
            return;
        }

        var size = BlockSize;
        var tokens = CollectionsMarshal.AsSpan(s.Tokens);
        kv.RootHash ??= Pool.RootHash(s.Request.PrefixCacheSalt);
        while (kv.Hashes.Count < s.Computed / size)
        {
            var b = kv.Hashes.Count;
            var parentHash = b == 0 ? kv.RootHash.Value : kv.Hashes[b - 1];
            var parentKey = b == 0 ? KvBlockAllocator.RootKey : kv.Keys[b - 1];
            var slice = tokens.Slice(b * size, size);
            var hash = Pool.Hash(parentHash, slice);
            kv.Keys.Add(Pool.Register(kv.Blocks[b], hash, slice, parentKey, s.Request.PrefixCacheSalt));
            kv.Hashes.Add(hash);
        }
    }

    /// <summary>
    /// Returns every block of <paramref name="s"/> to the pool, last block first, so that the tail of
    /// a cached prefix is evicted before its head (the head is what other prompts share).
    /// </summary>
    public void Free(Sequence s)
    {
        var blocks = s.Kv.Blocks;
        for (var i = blocks.Count - 1; i >= 0; i--)
        {
            Pool.Release(blocks[i]);
        }

        s.Kv.Clear();
    }

    /// <summary>Takes <paramref name="count"/> blocks outside any sequence (Score), or none when the pool cannot give them all.</summary>
    public int[]? TryAllocateBlocks(int count)
    {
        var blocks = new int[count];
        for (var i = 0; i < count; i++)
        {
            if (!Pool.TryAllocate(out blocks[i]))
            {
                Pool.Release(blocks.AsSpan(0, i).ToArray());
                return null;
            }
        }

        return blocks;
    }
}

/// <summary>
/// One sequence's KV blocks: the block table (block i holds positions [i·B, (i+1)·B)), and for the
/// leading full blocks their chain hashes and prefix-cache keys. Changed only by <see cref="KvCacheManager"/>.
/// </summary>
internal sealed class SequenceKvBlocks
{
    private int[]? _table;

    public List<int> Blocks { get; } = [];

    /// <summary>Chain hashes of the leading full blocks that are reused or registered.</summary>
    public List<ulong> Hashes { get; } = [];

    /// <summary>Prefix-cache keys of the same blocks (<see cref="KvBlockAllocator.NoKey"/> where not cacheable).</summary>
    public List<long> Keys { get; } = [];

    /// <summary>The chain hash of the empty prefix for the sequence's cache salt, computed once.</summary>
    public ulong? RootHash { get; set; }

    /// <summary>
    /// The block table as the forward batch takes it. Rebuilt only when a block is added or the
    /// blocks are freed (once per <c>BlockSize</c> decode steps), not copied every step.
    /// </summary>
    public int[] Table => _table ??= [.. Blocks];

    public void Add(int block)
    {
        Blocks.Add(block);
        _table = null;
    }

    public void Add(int block, ulong hash, long key)
    {
        Add(block);
        Hashes.Add(hash);
        Keys.Add(key);
    }

    public void Clear()
    {
        Blocks.Clear();
        Hashes.Clear();
        Keys.Clear();
        _table = null;
    }
}
