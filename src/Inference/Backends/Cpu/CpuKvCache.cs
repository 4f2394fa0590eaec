using System.Runtime.InteropServices;

namespace Mesh.Inference.Backends.Cpu;

/// <summary>
/// Storage of the paged KV cache in host memory: per layer one key pool and one value pool of
/// [block][slot][kv_dim] floats, allocated natively (a large cache may exceed an array's 2 GiB).
/// </summary>
internal sealed unsafe class CpuKvCache : IDisposable
{
    private readonly float*[] _keys;
    private readonly float*[] _values;
    private readonly int _kvDim;

    public CpuKvCache(int layers, int kvDim, KvCacheGeometry geometry)
    {
        Geometry = geometry;
        _kvDim = kvDim;
        _keys = new float*[layers];
        _values = new float*[layers];
        var bytes = (nuint)geometry.BlockCount * (nuint)geometry.BlockSize * (nuint)kvDim * sizeof(float);
        for (var l = 0; l < layers; l++)
        {
            _keys[l] = (float*)NativeMemory.AlignedAlloc(bytes, 64);
            _values[l] = (float*)NativeMemory.AlignedAlloc(bytes, 64);
            // Touch every page now. The OS maps a page on first write, and the block pool hands out
            // the least recently used free block, so under steady load the pool's pages were touched
            // a few at a time: RSS rose ~1 MiB/min for hours (until all of Inference:KvCacheMb was
            // resident) although nothing leaked. Resident from the start, the configured cache shows
            // in RSS at once, the service's memory is flat, and a host without the memory fails at
            // start instead of hours into serving (as vLLM reserves its KV cache up front).
            NativeMemory.Clear(_keys[l], bytes);
            NativeMemory.Clear(_values[l], bytes);
        }
    }

    public KvCacheGeometry Geometry { get; }

    /// <summary>The key row of the token at <paramref name="position"/> of a sequence with <paramref name="blockTable"/>.</summary>
    public float* Key(int layer, int[] blockTable, int position) => _keys[layer] + Offset(blockTable, position);

    public float* Value(int layer, int[] blockTable, int position) => _values[layer] + Offset(blockTable, position);

    /// <summary>Floats from one token's row to the next within a block (kv_dim).</summary>
    public int RowStride => _kvDim;

    /// <summary>Floats from the start of block 0 to the start of block 1 (block_size · kv_dim).</summary>
    public nint BlockStride => (nint)Geometry.BlockSize * _kvDim;

    /// <summary>
    /// Start of layer <paramref name="layer"/>'s key (or value) pool, [block][slot][kv_dim]: the base that
    /// <see cref="CheckBlocks"/>-validated block ids index without a call per block.
    /// </summary>
    public float* Pool(int layer, bool values) => values ? _values[layer] : _keys[layer];

    /// <summary>
    /// Checks once what <see cref="Key"/> and <see cref="Value"/> check per row: that
    /// <paramref name="blockTable"/> maps positions 0..<paramref name="positions"/>−1 and that each
    /// block id it uses is inside the pool. A hot loop that checked here may then index the pool directly.
    /// </summary>
    /// <exception cref="InvalidOperationException">As <see cref="Key"/>, for the first bad position.</exception>
    public void CheckBlocks(int[] blockTable, int positions)
    {
        var blocks = (positions + Geometry.BlockSize - 1) / Geometry.BlockSize;
        if (blocks > blockTable.Length)
        {
            throw new InvalidOperationException($"position {positions - 1} is beyond the sequence's {blockTable.Length} KV blocks");
        }

        for (var i = 0; i < blocks; i++)
        {
            if ((uint)blockTable[i] >= (uint)Geometry.BlockCount)
            {
                throw new InvalidOperationException($"KV block id {blockTable[i]} is outside the pool of {Geometry.BlockCount}");
            }
        }
    }

    public void Dispose()
    {
        for (var l = 0; l < _keys.Length; l++)
        {
            NativeMemory.AlignedFree(_keys[l]);
            NativeMemory.AlignedFree(_values[l]);
            _keys[l] = null;
            _values[l] = null;
        }
    }

    private nint Offset(int[] blockTable, int position)
    {
        var blockIndex = position / Geometry.BlockSize;
        if ((uint)blockIndex >= (uint)blockTable.Length)
        {
            throw new InvalidOperationException($"position {position} is beyond the sequence's {blockTable.Length} KV blocks");
        }

        var block = blockTable[blockIndex];
        if ((uint)block >= (uint)Geometry.BlockCount)
        {
            throw new InvalidOperationException($"KV block id {block} is outside the pool of {Geometry.BlockCount}");
        }

        return (((nint)block * Geometry.BlockSize) + (position % Geometry.BlockSize)) * _kvDim;
    }
}
