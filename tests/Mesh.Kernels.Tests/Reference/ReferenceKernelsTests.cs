using Mesh.Kernels.Launch;
using Mesh.Kernels.Layout;
using Mesh.Kernels.Reference;

namespace Mesh.Kernels.Tests.Reference;

public class ReferenceKernelsTests
{
    [Fact]
    public void Contiguous_causal_prefill_attention_equals_paged_attention_of_the_same_sequence()
    {
        // The flash prefill kernel (contiguous q/k/v) and the paged kernel must compute the same function.
        const int tokens = 45, heads = 4, kvHeads = 2, headDim = 8;
        var random = new Random(3);
        float[] Next(int n) => Enumerable.Range(0, n).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
        var q = Next(tokens * heads * headDim);
        var k = Next(tokens * kvHeads * headDim);
        var v = Next(tokens * kvHeads * headDim);
        var scale = 1f / MathF.Sqrt(headDim);

        var dense = new float[q.Length];
        ReferenceKernels.CausalAttention(dense, q, k, v, tokens, heads, kvHeads, headDim, scale);

        var layout = new BlockTableLayout(16, 3, kvHeads, headDim);
        int[] table = [2, 0, 1];
        var keyPool = new float[layout.FloatsPerPool];
        var valuePool = new float[layout.FloatsPerPool];
        var slots = Enumerable.Range(0, tokens).Select(p => layout.PhysicalSlot(table, p)).ToArray();
        ReferenceKernels.KvAppend(keyPool, valuePool, k, v, slots, layout);
        var paged = new float[q.Length];
        ReferenceKernels.Attention(paged, q, keyPool, valuePool, table, table.Length, new int[tokens], Enumerable.Range(0, tokens).ToArray(), heads, layout, scale);

        for (var i = 0; i < dense.Length; i++)
        {
            Assert.Equal(dense[i], paged[i], 5);
        }
    }

    [Fact]
    public void Prefill_attention_geometry_is_one_block_per_64_queries_and_head_and_needs_head_dim_64()
    {
        var g = KernelShapes.AttentionPrefill(tokens: 130, heads: 32, kvHeads: 8, headDim: 64);
        Assert.Equal((3u, 32u, 128u), (g.GridX, g.GridY, g.BlockX));
        Assert.Contains("head_dim 64", Assert.Throws<ArgumentException>(() => KernelShapes.AttentionPrefill(10, 8, 8, 128)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void SwiGlu_and_residual_follow_their_definitions()
    {
        float[] gate = [0f, 2f, -3f];
        float[] up = [5f, 0.5f, 2f];
        var output = new float[3];
        ReferenceKernels.SwiGlu(output, gate, up);
        Assert.Equal(0f, output[0]);
        Assert.Equal(2f / (1f + MathF.Exp(-2f)) * 0.5f, output[1], 6);
        Assert.Equal(-3f / (1f + MathF.Exp(3f)) * 2f, output[2], 6);

        float[] y = [1f, 2f];
        ReferenceKernels.ResidualAdd(y, [0.5f, -2f]);
        Assert.Equal([1.5f, 0f], y);
    }
}
