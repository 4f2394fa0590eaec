using Mesh.Kernels.Layout;
using Mesh.Kernels.Reference;

namespace Mesh.Kernels.Tests.Layout;

public class BlockTableLayoutTests
{
    [Fact]
    public void Positions_map_through_the_block_table_to_physical_slots()
    {
        var layout = new BlockTableLayout(blockSize: 16, blockCount: 10, kvHeads: 2, headDim: 8);
        int[] table = [7, 2, 9];

        Assert.Equal(7 * 16, layout.PhysicalSlot(table, 0));
        Assert.Equal((7 * 16) + 15, layout.PhysicalSlot(table, 15));
        Assert.Equal(2 * 16, layout.PhysicalSlot(table, 16));
        Assert.Equal((9 * 16) + 3, layout.PhysicalSlot(table, 35));
    }

    [Fact]
    public void A_position_past_the_table_or_a_block_past_the_cache_is_rejected()
    {
        var layout = new BlockTableLayout(16, 10, 2, 8);
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => layout.PhysicalSlot([1, 2], 32));
        Assert.Contains("block table has 2 blocks", e.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentOutOfRangeException>(() => layout.PhysicalSlot([10], 0));
    }

    [Fact]
    public void A_heads_keys_within_a_block_are_contiguous()
    {
        var layout = new BlockTableLayout(16, 4, kvHeads: 4, headDim: 64);
        var slot = layout.PhysicalSlot([3], 0);
        for (var s = 0; s < 16; s++)
        {
            for (var d = 0; d < 64; d++)
            {
                Assert.Equal(layout.PoolOffset(slot, 2, 0) + (s * 64) + d, layout.PoolOffset(slot + s, 2, d));
            }
        }
        Assert.Equal(layout.FloatsPerBlock, layout.PoolOffset(slot, 0, 0) - layout.PoolOffset(layout.PhysicalSlot([2], 0), 0, 0));
    }

    [Fact]
    public void Flatten_pads_tables_to_the_longest()
    {
        var flat = BlockTableLayout.Flatten([[1, 2, 3], [4]], out var maxBlocks);
        Assert.Equal(3, maxBlocks);
        Assert.Equal([1, 2, 3, 4, 0, 0], flat);
    }

    [Fact]
    public void Paged_attention_over_scattered_blocks_equals_dense_causal_attention()
    {
        // Two sequences (GQA: 4 query heads over 2 kv heads) written through the KV append reference
        // into shuffled blocks, then attended through their block tables; the result must equal plain
        // softmax attention over the same keys and values held densely.
        const int heads = 4, kvHeads = 2, headDim = 8, blockSize = 16;
        int[] lengths = [37, 5];
        var layout = new BlockTableLayout(blockSize, blockCount: 8, kvHeads, headDim);
        int[][] tables = [[5, 0, 3], [6]];
        var random = new Random(9);
        float Next() => (float)(random.NextDouble() * 2 - 1);
        var kvDim = kvHeads * headDim;
        var keyPool = new float[layout.FloatsPerPool];
        var valuePool = new float[layout.FloatsPerPool];
        var dense = new List<(float[] K, float[] V)>();
        for (var s = 0; s < 2; s++)
        {
            var k = Enumerable.Range(0, lengths[s] * kvDim).Select(_ => Next()).ToArray();
            var v = Enumerable.Range(0, lengths[s] * kvDim).Select(_ => Next()).ToArray();
            var slots = Enumerable.Range(0, lengths[s]).Select(p => layout.PhysicalSlot(tables[s], p)).ToArray();
            ReferenceKernels.KvAppend(keyPool, valuePool, k, v, slots, layout);
            dense.Add((k, v));
        }

        // Query tokens: the last position of each sequence, and a middle position of the first.
        int[] tokenSeq = [0, 1, 0];
        int[] tokenPos = [36, 4, 20];
        var q = Enumerable.Range(0, tokenSeq.Length * heads * headDim).Select(_ => Next()).ToArray();
        var flat = BlockTableLayout.Flatten(tables, out var maxBlocks);
        var output = new float[q.Length];
        var scale = 1f / MathF.Sqrt(headDim);
        ReferenceKernels.Attention(output, q, keyPool, valuePool, flat, maxBlocks, tokenSeq, tokenPos, heads, layout, scale);

        for (var t = 0; t < tokenSeq.Length; t++)
        {
            var (k, v) = dense[tokenSeq[t]];
            for (var h = 0; h < heads; h++)
            {
                var kvh = h / (heads / kvHeads);
                var scores = new double[tokenPos[t] + 1];
                for (var p = 0; p < scores.Length; p++)
                {
                    for (var d = 0; d < headDim; d++)
                    {
                        scores[p] += q[(((t * heads) + h) * headDim) + d] * k[(p * kvDim) + (kvh * headDim) + d];
                    }
                    scores[p] *= scale;
                }
                var max = scores.Max();
                var weights = scores.Select(x => Math.Exp(x - max)).ToArray();
                var sum = weights.Sum();
                for (var d = 0; d < headDim; d++)
                {
                    var expected = 0.0;
                    for (var p = 0; p < scores.Length; p++)
                    {
                        expected += weights[p] / sum * v[(p * kvDim) + (kvh * headDim) + d];
                    }
                    Assert.Equal(expected, output[(((t * heads) + h) * headDim) + d], 5);
                }
            }
        }
    }
}
