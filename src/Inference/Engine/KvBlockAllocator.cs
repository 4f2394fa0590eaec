using System.Security.Cryptography;

namespace Mesh.Inference.Engine;

/// <summary>
/// The hash of a full KV block's <paramref name="tokens"/> following the prefix whose chain hash is
/// <paramref name="parentHash"/>. Injected so that tests can force collisions; the default is
/// <see cref="KvBlockAllocator.HashBlock"/>.
/// </summary>
public delegate ulong BlockHasher(ulong parentHash, ReadOnlySpan<int> tokens);

/// <summary>
/// The paged KV cache's block pool and prefix cache, as vLLM's <c>BlockPool</c>: a block that a
/// sequence has filled completely is registered under a hash of its tokens chained with the hash of
/// the block before it, so it stands for the whole prefix up to its end. A later request whose
/// prompt starts with the same prefix takes a reference to that block instead of recomputing it.
/// <para>
/// The hash only finds a candidate; it is never trusted. Reuse also requires the block's own tokens
/// to equal the request's, its cache salt (the tenant, vLLM's <c>cache_salt</c>) to be the request's,
/// and its predecessor to be exactly the cached block the request matched one step earlier (every
/// registration gets a key that is never reused). By induction a reused block holds the keys and
/// values of the same tokens after the same prefix for the same tenant, whatever the hash does.
/// </para>
/// Blocks are reference-counted; a registered block nobody references stays cached until the pool
/// needs it, least recently used first. Used only from the scheduler's thread.
/// </summary>
public sealed class KvBlockAllocator
{
    /// <summary>The parent key of a sequence's first block.</summary>
    public const long RootKey = 0;

    /// <summary>A chain that cannot be cached (a block before it is not the canonical cached copy).</summary>
    public const long NoKey = -1;

    private readonly Stack<int> _free = new();
    private readonly int[] _references;
    private readonly ulong[] _hashOf;
    private readonly long[] _keyOf;
    private readonly long[] _parentKeyOf;
    private readonly string?[] _saltOf;
    private readonly int[] _tokensOf;
    private readonly Dictionary<ulong, int> _cached = [];
    // Registered blocks with no references, in least-recently-used order; each node is found by block id.
    private readonly LinkedList<int> _evictable = new();
    private readonly LinkedListNode<int>?[] _evictableNode;
    private readonly BlockHasher _hasher;
    private readonly ulong _seed;
    private long _nextKey = 1;

    /// <param name="blockCount">Blocks in the pool.</param>
    /// <param name="blockSize">Token slots per block.</param>
    /// <param name="enablePrefixCaching">Whether full blocks are registered and reused.</param>
    /// <param name="hasher">The chain hash; <see cref="HashBlock"/> when null.</param>
    /// <param name="seed">The hash of the empty prefix; a random value per pool when null, so chain hashes cannot be precomputed offline.</param>
    public KvBlockAllocator(int blockCount, int blockSize, bool enablePrefixCaching, BlockHasher? hasher = null, ulong? seed = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(blockCount);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(blockSize);
        BlockCount = blockCount;
        BlockSize = blockSize;
        PrefixCachingEnabled = enablePrefixCaching;
        _hasher = hasher ?? HashBlock;
        _seed = seed ?? BitConverter.ToUInt64(RandomNumberGenerator.GetBytes(8));
        _references = new int[blockCount];
        _hashOf = new ulong[blockCount];
        _keyOf = new long[blockCount];
        _parentKeyOf = new long[blockCount];
        _saltOf = new string?[blockCount];
        _tokensOf = enablePrefixCaching ? new int[checked(blockCount * blockSize)] : [];
        _evictableNode = new LinkedListNode<int>?[blockCount];
        for (var b = blockCount - 1; b >= 0; b--)
        {
            _free.Push(b);
        }
    }

    /// <summary>Blocks in the pool (ids 0 to BlockCount - 1).</summary>
    public int BlockCount { get; }

    /// <summary>Token slots per block.</summary>
    public int BlockSize { get; }

    /// <summary>
    /// Whether filled blocks are registered by hash for reuse; when false every block is freed on release.
    /// </summary>
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

    /// <summary>Drops one reference to each block, in order; unreferenced blocks become free or idle-cached.</summary>
    /// <exception cref="InvalidOperationException">A block is released more often than it was taken.</exception>
    public void Release(IEnumerable<int> blocks)
    {
        foreach (var block in blocks)
        {
            Release(block);
        }
    }

    /// <summary>Drops one reference to <paramref name="block"/>.</summary>
    /// <exception cref="InvalidOperationException">The block is released more often than it was taken.</exception>
    public void Release(int block)
    {
        if (_references[block] <= 0)
        {
            throw new InvalidOperationException($"KV block {block} released more often than taken");
        }

        if (--_references[block] > 0)
        {
            return;
        }

        if (_keyOf[block] > 0)
        {
            _evictableNode[block] = _evictable.AddLast(block);
        }
        else
        {
            _free.Push(block);
        }
    }

    /// <summary>
    /// The default chain hash: FNV-1a over the parent hash and the token ids, then splitmix64's
    /// finaliser for avalanche. Fast, not collision-resistant: reuse never relies on it alone.
    /// </summary>
    public static ulong HashBlock(ulong parentHash, ReadOnlySpan<int> tokens)
    {
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

    /// <summary>The chain hash of the empty prefix for <paramref name="salt"/> (a tenant): the pool's seed hashed with the salt's characters.</summary>
    public ulong RootHash(string salt)
    {
        Span<int> chars = salt.Length <= 256 ? stackalloc int[salt.Length] : new int[salt.Length];
        for (var i = 0; i < salt.Length; i++)
        {
            chars[i] = salt[i];
        }

        return _hasher(_seed, chars);
    }

    /// <summary>The chain hash of a full block of <paramref name="tokens"/> after the prefix with <paramref name="parentHash"/>.</summary>
    public ulong Hash(ulong parentHash, ReadOnlySpan<int> tokens) => _hasher(parentHash, tokens);

    /// <summary>
    /// Looks up a cached block holding <paramref name="tokens"/> after the cached block with key
    /// <paramref name="parentKey"/> (or <see cref="RootKey"/>) for <paramref name="salt"/>; on a hit
    /// takes a reference to it and returns its key. A hash match with other content is a miss.
    /// </summary>
    public bool TryReuse(ulong hash, ReadOnlySpan<int> tokens, long parentKey, string salt, out int block, out long key)
    {
        key = NoKey;
        if (!PrefixCachingEnabled || parentKey == NoKey || !_cached.TryGetValue(hash, out block) || !Holds(block, tokens, parentKey, salt))
        {
            block = -1;
            return false;
        }

        if (_references[block]++ == 0)
        {
            RemoveEvictable(block);
        }

        key = _keyOf[block];
        return true;
    }

    /// <summary>
    /// Registers a block a sequence has just filled with <paramref name="tokens"/>, so later prompts
    /// can reuse it. Returns the key that stands for this content from now on: the new key, the key
    /// of an identical block already cached, or <see cref="NoKey"/> when the content cannot be cached
    /// (prefix caching off, an uncacheable parent, or a different block already under the hash).
    /// </summary>
    public long Register(int block, ulong hash, ReadOnlySpan<int> tokens, long parentKey, string salt)
    {
        if (!PrefixCachingEnabled || parentKey == NoKey || tokens.Length != BlockSize)
        {
            return NoKey;
        }

        if (_keyOf[block] > 0)
        {
            return _keyOf[block];
        }

        if (_cached.TryGetValue(hash, out var existing))
        {
            return Holds(existing, tokens, parentKey, salt) ? _keyOf[existing] : NoKey;
        }

        _keyOf[block] = _nextKey++;
        _hashOf[block] = hash;
        _parentKeyOf[block] = parentKey;
        _saltOf[block] = salt;
        tokens.CopyTo(_tokensOf.AsSpan(block * BlockSize, BlockSize));
        _cached[hash] = block;
        return _keyOf[block];
    }

    private bool Holds(int block, ReadOnlySpan<int> tokens, long parentKey, string salt) =>
        _parentKeyOf[block] == parentKey
        && string.Equals(_saltOf[block], salt, StringComparison.Ordinal)
        && tokens.SequenceEqual(_tokensOf.AsSpan(block * BlockSize, BlockSize));

    private void Unregister(int block)
    {
        if (_keyOf[block] > 0)
        {
            _cached.Remove(_hashOf[block]);
            _keyOf[block] = 0;
            _saltOf[block] = null;
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
