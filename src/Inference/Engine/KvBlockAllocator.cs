namespace Mesh.Inference.Engine;

/// <summary>
/// Hands out the paged KV cache's blocks and keeps the prefix cache, as vLLM does: a block that a
/// sequence has filled completely is registered under a hash of its tokens chained with the hash of
/// the block before it, so it stands for the whole prefix up to its end. A later request whose
/// prompt starts with the same prefix takes a reference to that block instead of recomputing it.
/// Blocks are reference-counted; a registered block nobody references stays cached until the pool
/// needs it, least recently used first. Used only from the scheduler's thread.
/// </summary>
public sealed class KvBlockAllocator
{
    private readonly Stack<int> _free = new();
    private readonly int[] _references;
    private readonly ulong[] _hashOf;
    private readonly bool[] _registered;
    private readonly Dictionary<ulong, int> _cached = [];
    // Registered blocks with no references, in least-recently-used order; each node is found by block id.
    private readonly LinkedList<int> _evictable = new();
    private readonly LinkedListNode<int>?[] _evictableNode;

    public KvBlockAllocator(int blockCount, int blockSize, bool enablePrefixCaching)
    {
        BlockCount = blockCount;
        BlockSize = blockSize;
        PrefixCachingEnabled = enablePrefixCaching;
        _references = new int[blockCount];
        _hashOf = new ulong[blockCount];
        _registered = new bool[blockCount];
        _evictableNode = new LinkedListNode<int>?[blockCount];
        for (var b = blockCount - 1; b >= 0; b--)
        {
            _free.Push(b);
        }
    }

    public int BlockCount { get; }

    public int BlockSize { get; }

    public bool PrefixCachingEnabled { get; }

    /// <summary>Blocks that can be handed out now: never used, or cached without references.</summary>
    public int AvailableBlocks => _free.Count + _evictable.Count;

    /// <summary>Blocks referenced by at least one sequence.</summary>
    public int UsedBlocks => BlockCount - AvailableBlocks;

    /// <summary>Blocks holding a cached prefix that no sequence references.</summary>
    public int CachedIdleBlocks => _evictable.Count;

    /// <summary>Takes a block for new content; false when every block is referenced.</summary>
    public bool TryAllocate(out int block)
    {
        if (_free.TryPop(out block))
        {
            _references[block] = 1;
            return true;
        }

        var lru = _evictable.First;
        if (lru is null)
        {
            block = -1;
            return false;
        }

        block = lru.Value;
        RemoveEvictable(block);
        Unregister(block);
        _references[block] = 1;
        return true;
    }

    /// <summary>Drops one reference to each block; unreferenced blocks become free or idle-cached.</summary>
    public void Release(IEnumerable<int> blocks)
    {
        foreach (var block in blocks)
        {
            if (_references[block] <= 0)
            {
                throw new InvalidOperationException($"KV block {block} released more often than taken");
            }

            if (--_references[block] > 0)
            {
                continue;
            }

            if (_registered[block])
            {
                _evictableNode[block] = _evictable.AddLast(block);
            }
            else
            {
                _free.Push(block);
            }
        }
    }

    /// <summary>The hash of a full block of <paramref name="tokens"/> following a prefix with <paramref name="parentHash"/>.</summary>
    public static ulong HashBlock(ulong parentHash, ReadOnlySpan<int> tokens)
    {
        // FNV-1a over the parent hash and the token ids, then a final avalanche (splitmix64).
        var h = 14695981039346656037UL ^ parentHash;
        foreach (var t in tokens)
        {
            h = (h ^ (uint)t) * 1099511628211UL;
        }

        h ^= h >> 30;
        h *= 0xbf58476d1ce4e5b9UL;
        h ^= h >> 27;
        h *= 0x94d049bb133111ebUL;
        return h ^ (h >> 31);
    }

    /// <summary>
    /// Looks up a cached block for the prefix ending with <paramref name="hash"/>; on a hit takes a
    /// reference to it.
    /// </summary>
    public bool TryReuse(ulong hash, out int block)
    {
        if (!PrefixCachingEnabled || !_cached.TryGetValue(hash, out block))
        {
            block = -1;
            return false;
        }

        if (_references[block]++ == 0)
        {
            RemoveEvictable(block);
        }

        return true;
    }

    /// <summary>Registers a block a sequence has just filled, so later prompts can reuse it.</summary>
    public void Register(int block, ulong hash)
    {
        if (!PrefixCachingEnabled || _registered[block] || _cached.ContainsKey(hash))
        {
            return;
        }

        _registered[block] = true;
        _hashOf[block] = hash;
        _cached[hash] = block;
    }

    private void Unregister(int block)
    {
        if (_registered[block])
        {
            _cached.Remove(_hashOf[block]);
            _registered[block] = false;
        }
    }

    private void RemoveEvictable(int block)
    {
        var node = _evictableNode[block];
        if (node is not null)
        {
            _evictable.Remove(node);
            _evictableNode[block] = null;
        }
    }
}
