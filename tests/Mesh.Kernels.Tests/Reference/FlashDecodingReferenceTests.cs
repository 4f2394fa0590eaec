using Mesh.Kernels.Launch;
using Mesh.Kernels.Layout;
using Mesh.Kernels.Reference;

namespace Mesh.Kernels.Tests.Reference;

/// <summary>Flash-decoding's split + combine must be plain paged attention, whatever the split length.</summary>
public class FlashDecodingReferenceTests
{
    [Theory]
    [InlineData(1)]     // one position per split
    [InlineData(7)]     // splits that end mid-block
    [InlineData(64)]    // the kernel's usual chunk
    [InlineData(1000)]  // one split holds the whole context
    public void Split_and_combine_equal_unsplit_paged_attention(int splitLength)
    {
        const int heads = 8, kvHeads = 2, headDim = 16, blockSize = 16, blocks = 24;
        var random = new Random(splitLength);
        float[] Next(int n, float scale = 1) => Enumerable.Range(0, n).Select(_ => (float)((random.NextDouble() * 2) - 1) * scale).ToArray();
        var layout = new BlockTableLayout(blockSize, blocks, kvHeads, headDim);
        var keyPool = Next((int)layout.FloatsPerPool, 3);
        var valuePool = Next((int)layout.FloatsPerPool);
        // Two sequences over scattered blocks; four decode tokens at short and long positions, so
        // that some splits lie wholly past a token's position.
        var order = Enumerable.Range(0, blocks).OrderBy(_ => random.Next()).ToArray();
        const int maxBlocks = 12;
        var tables = order.ToArray();
        int[] sequence = [0, 1, 0, 1];
        int[] position = [0, 190, 37, 150];
        var q = Next(position.Length * heads * headDim);
        var scale = 1f / MathF.Sqrt(headDim);

        var plain = new float[q.Length];
        ReferenceKernels.Attention(plain, q, keyPool, valuePool, tables, maxBlocks, sequence, position, heads, layout, scale);

        var splits = KernelShapes.FlashDecodeSplits(position.Max() + 1, splitLength);
        var (partO, partMl) = FlashDecodingReference.Split(q, keyPool, valuePool, tables, maxBlocks, sequence, position, heads, layout, scale, splitLength, splits);
        var combined = new float[q.Length];
        FlashDecodingReference.Combine(combined, partO, partMl, position.Length, heads, headDim, splits);

        for (var i = 0; i < plain.Length; i++)
        {
            Assert.True(Math.Abs(plain[i] - combined[i]) <= 1e-5 * Math.Max(1, Math.Abs(plain[i])), $"element {i}: plain {plain[i]}, split+combine {combined[i]}");
        }
        if (splits > 1)
        {
            // Token 0 sits at position 0: every split after the first is empty for it.
            Assert.Equal(float.NegativeInfinity, partMl[2 * 1]);
        }
    }

    [Fact]
    public void Flash_decoding_geometry_adds_the_split_dimension_and_refuses_no_splits()
    {
        var (split, combine) = KernelShapes.AttentionFlashDecode(tokens: 3, heads: 32, kvHeads: 8, headDim: 128, splitLength: 256, splits: 128);
        Assert.Equal((32u, 3u, 128u, 256u), (split.GridX, split.GridY, split.GridZ, split.BlockX));
        Assert.Equal((32u, 3u, 1u), (combine.GridX, combine.GridY, combine.GridZ));
        Assert.True(combine.BlockX >= 128);
        Assert.Throws<ArgumentException>(() => KernelShapes.AttentionFlashDecode(1, 8, 8, 64, 256, 0));
        Assert.Equal(3, KernelShapes.FlashDecodeSplits(513, 256));
    }
}
