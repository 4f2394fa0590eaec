namespace Mesh.Kernels.Layout;

/// <summary>
/// Addressing of the paged KV cache as the CUDA kernels see it. The engine gives each sequence a
/// block table (block ids in position order, <see cref="BlockSize"/> positions per block); per
/// layer, the K and V pools are [block][kv_head][slot][head_dim] floats, so one head's keys of a
/// block are 16·head_dim contiguous floats and a warp reading them is fully coalesced.
/// </summary>
public sealed class BlockTableLayout
{
    /// <summary>A cache of <paramref name="blockCount"/> blocks of <paramref name="blockSize"/> positions, each position <paramref name="kvHeads"/> × <paramref name="headDim"/> floats per pool.</summary>
    /// <exception cref="ArgumentOutOfRangeException">An argument is zero or negative.</exception>
    public BlockTableLayout(int blockSize, int blockCount, int kvHeads, int headDim)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(blockSize);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(blockCount);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(kvHeads);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(headDim);
        BlockSize = blockSize;
        BlockCount = blockCount;
        KvHeads = kvHeads;
        HeadDim = headDim;
    }

    /// <summary>Positions (tokens) per block.</summary>
    public int BlockSize { get; }

    /// <summary>Blocks in each pool.</summary>
    public int BlockCount { get; }

    /// <summary>Key/value heads per position.</summary>
    public int KvHeads { get; }

    /// <summary>Floats per head.</summary>
    public int HeadDim { get; }

    /// <summary>Floats in one block of one pool (all kv heads).</summary>
    public long FloatsPerBlock => (long)KvHeads * BlockSize * HeadDim;

    /// <summary>Floats in one pool (K or V of one layer).</summary>
    public long FloatsPerPool => FloatsPerBlock * BlockCount;

    /// <summary>
    /// The physical slot (block id · block size + slot in block) holding <paramref name="position"/>
    /// of a sequence: what the KV append kernel receives per token.
    /// </summary>
    public int PhysicalSlot(ReadOnlySpan<int> blockTable, int position)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(position);
        var logical = position / BlockSize;
        if (logical >= blockTable.Length)
        {
            throw new ArgumentOutOfRangeException(nameof(position),
                $"position {position} needs block {logical} but the block table has {blockTable.Length} blocks");
        }
        var block = blockTable[logical];
        if ((uint)block >= (uint)BlockCount)
        {
            throw new ArgumentOutOfRangeException(nameof(blockTable), $"block id {block} is outside the cache's {BlockCount} blocks");
        }
        return (block * BlockSize) + (position % BlockSize);
    }

    /// <summary>Float offset in a pool of element <paramref name="d"/> of <paramref name="kvHead"/> at a physical slot.</summary>
    public long PoolOffset(int physicalSlot, int kvHead, int d)
    {
        var block = physicalSlot / BlockSize;
        var slot = physicalSlot % BlockSize;
        return ((((long)block * KvHeads) + kvHead) * BlockSize + slot) * HeadDim + d;
    }

    /// <summary>
    /// Packs block tables into one int32 matrix [sequences][maxBlocks] (unused entries 0) for the
    /// attention kernel; <paramref name="maxBlocks"/> is the longest table.
    /// </summary>
    public static int[] Flatten(IReadOnlyList<int[]> tables, out int maxBlocks)
    {
        maxBlocks = Math.Max(1, tables.Count == 0 ? 1 : tables.Max(t => t.Length));
        var flat = new int[Math.Max(1, tables.Count) * maxBlocks];
        for (var s = 0; s < tables.Count; s++)
        {
            tables[s].CopyTo(flat, s * maxBlocks);
        }
        return flat;
    }
}
