using Mesh.Kernels.Launch;

namespace Mesh.Kernels.Tests.Launch;

public class KernelShapesTests
{
    [Theory]
    [InlineData(1, 4096)]
    [InlineData(2048, 2048)]
    [InlineData(32000, 2048)]
    [InlineData(11008, 4096)]
    public void Matvec_grid_has_exactly_enough_warps_for_every_output_row(int n, int k)
    {
        var g = KernelShapes.MatVec(n, k, WeightFormat.BF16);
        var warps = g.GridX * (g.BlockX / 32);
        Assert.True(warps >= n && warps - n < 8, $"{warps} warps for {n} rows");
        Assert.Equal(256u, g.BlockX);
    }

    [Theory]
    [InlineData(WeightFormat.F32, 4)]
    [InlineData(WeightFormat.F16, 8)]
    [InlineData(WeightFormat.BF16, 8)]
    [InlineData(WeightFormat.Q8_0, 32)]
    public void Matvec_rejects_a_K_its_16_byte_loads_cannot_cover(WeightFormat format, int multiple)
    {
        KernelShapes.MatVec(16, multiple * 3, format);
        var e = Assert.Throws<ArgumentException>(() => KernelShapes.MatVec(16, (multiple * 3) + 2, format));
        Assert.Contains($"multiple of {multiple}", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(1, 4096, 4096)]
    [InlineData(300, 11008, 4096)]
    [InlineData(4096, 4096, 4096)]
    public void Matmul_tiles_cover_C_and_ask_for_the_three_stage_shared_memory(int m, int n, int k)
    {
        var g = KernelShapes.MatMul(m, n, k);
        Assert.True(g.GridX * 128 >= n && (g.GridX - 1) * 128 < n);
        Assert.True(g.GridY * 128 >= m && (g.GridY - 1) * 128 < m);
        Assert.Equal(49152u, g.SharedMemoryBytes);
    }

    [Fact]
    public void Matmul_rejects_K_not_a_multiple_of_the_pipeline_step_and_odd_N()
    {
        Assert.Contains("multiple of 32", Assert.Throws<ArgumentException>(() => KernelShapes.MatMul(16, 64, 48)).Message, StringComparison.Ordinal);
        Assert.Contains("multiple of 8", Assert.Throws<ArgumentException>(() => KernelShapes.MatMul(16, 60, 64)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Attention_runs_one_block_per_token_and_head_and_checks_GQA_and_head_size()
    {
        var g = KernelShapes.Attention(tokens: 3, heads: 32, kvHeads: 8, headDim: 64);
        Assert.Equal((32u, 3u), (g.GridX, g.GridY));
        Assert.Throws<ArgumentException>(() => KernelShapes.Attention(1, 32, 6, 64));
        Assert.Contains("up to 128", Assert.Throws<ArgumentException>(() => KernelShapes.Attention(1, 8, 8, 256)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Element_wise_grids_are_capped_and_need_whole_vectors()
    {
        var small = KernelShapes.ElementWise(1024, multiprocessors: 132);
        Assert.Equal(1u, small.GridX);
        var large = KernelShapes.ElementWise(1L << 28, multiprocessors: 132);
        Assert.Equal(132u * 8, large.GridX);
        Assert.Throws<ArgumentException>(() => KernelShapes.ElementWise(1022, 132));
    }

    [Fact]
    public void Rope_has_one_thread_per_pair_of_every_token()
    {
        var g = KernelShapes.Rope(tokens: 5, width: 2048, headDim: 64);
        Assert.Equal(5u, g.GridY);
        Assert.True(g.GridX * g.BlockX >= 1024 && (g.GridX - 1) * g.BlockX < 1024);
        Assert.Throws<ArgumentException>(() => KernelShapes.Rope(1, 100, 64));
    }
}

public class HopperMatMulShapeTests
{
    [Fact]
    public void The_wgmma_matmul_needs_K_in_64_element_stages_and_asks_for_four_32_KiB_stages()
    {
        var g = KernelShapes.MatMulWgmma(4096, 4096, 4096);
        Assert.Equal((32u, 32u, 256u), (g.GridX, g.GridY, g.BlockX));
        Assert.Equal((4u * 32768) + 1024, g.SharedMemoryBytes);
        Assert.Contains("multiple of 64", Assert.Throws<ArgumentException>(() => KernelShapes.MatMulWgmma(128, 128, 96)).Message, StringComparison.Ordinal);
    }
}
