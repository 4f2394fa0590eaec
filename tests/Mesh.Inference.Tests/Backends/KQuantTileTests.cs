using Mesh.Inference.Backends.Cpu;
using Mesh.Inference.Models;
using Mesh.Inference.Models.Gguf;
using static Mesh.Inference.Tests.Backends.FusedQuantDotTests;

namespace Mesh.Inference.Tests.Backends;

/// <summary>
/// The K-quant register tiles (4 weight rows × 4 activation rows, vpdpbusd) give every output of a
/// multi-row step exactly the bits of the one-row-at-a-time path, so a token's logits do not depend
/// on the batch around it, on its place in a 4-token tile or on the thread split: every K type, every
/// bit pattern of <see cref="FusedQuantDotTests"/>, token counts on and off multiples of four, and row
/// ranges that start and end off multiples of four (a short last row group).
/// </summary>
[Collection(SerialCollection.Name)]
public sealed unsafe class KQuantTileTests
{
    public static TheoryData<GgmlType, BlockPattern> Cases()
    {
        var data = new TheoryData<GgmlType, BlockPattern>();
        foreach (var type in new[] { GgmlType.Q2_K, GgmlType.Q3_K, GgmlType.Q4_K, GgmlType.Q5_K, GgmlType.Q6_K })
        {
            foreach (var pattern in Enum.GetValues<BlockPattern>())
            {
                data.Add(type, pattern);
            }
        }

        return data;
    }

    [TilesTheory]
    [MemberData(nameof(Cases))]
    public void TilesEqualTheOneRowPathBitForBit(GgmlType type, BlockPattern pattern)
    {
        const int rows = 11;
        const int cols = 3 * KQuants.SuperBlockSize;
        var random = new Random(((int)type * 37) + (int)pattern);
        var weights = Weights(type, rows, cols, pattern, random);
        var inputs = Activations(cols, random).ToArray();
        fixed (byte* data = weights)
        {
            var w = new WeightMatrix("w", type, rows, cols, (nint)data);
            foreach (var tokens in new[] { 2, 3, 4, 5, 7, 8, 9, 13, 64 })
            {
                using var x = new CpuActivations();
                var values = x.Reset(tokens, cols);
                for (var t = 0; t < tokens; t++)
                {
                    // Mix the three activation kinds (random, ±127 everywhere, zeros) across tokens.
                    inputs[t % inputs.Length].CopyTo(new Span<float>(values + ((nint)t * cols), cols));
                }

                x.EnsureQuantizedK();
                foreach (var (start, end) in new[] { (0, rows), (1, 8), (3, 4), (2, 7), (5, 11) })
                {
                    var tiled = Multiply(w, x, start, end, tiles: true);
                    var oneRow = Multiply(w, x, start, end, tiles: false);
                    for (var t = 0; t < tokens; t++)
                    {
                        for (var r = 0; r < rows; r++)
                        {
                            var k = (t * rows) + r;
                            if (r < start || r >= end)
                            {
                                Assert.True(float.IsNaN(tiled[k]), $"{type} {pattern}: token {t} row {r} outside [{start}, {end}) was written");
                                continue;
                            }

                            Assert.True(
                                BitConverter.SingleToInt32Bits(tiled[k]) == BitConverter.SingleToInt32Bits(oneRow[k]),
                                $"{type} {pattern}, {tokens} tokens, rows [{start}, {end}): token {t} row {r}: tiles {tiled[k]:R}, one-row path {oneRow[k]:R}");
                        }
                    }
                }
            }
        }
    }

    [TilesFact]
    public void ParallelTiledStepEqualsEachTokenAlone()
    {
        // Decode (one row: the fused kernels) and a 6-token step over two threads (the tiles) of the
        // same activations give each token the same bits.
        const int rows = 70;
        const int cols = 2 * KQuants.SuperBlockSize;
        const int tokens = 6;
        var random = new Random(6);
        foreach (var type in new[] { GgmlType.Q4_K, GgmlType.Q6_K })
        {
            var weights = Weights(type, rows, cols, BlockPattern.Random, random);
            var values = Enumerable.Range(0, tokens * cols).Select(_ => (float)((random.NextDouble() * 2) - 1)).ToArray();
            fixed (byte* data = weights)
            {
                var w = new WeightMatrix("w", type, rows, cols, (nint)data);
                using var parallel = new CpuParallel(2, cols);
                using var batch = new CpuActivations();
                values.CopyTo(new Span<float>(batch.Reset(tokens, cols), tokens * cols));
                var together = new float[tokens * rows];
                fixed (float* y = together)
                {
                    parallel.MatMul(batch, (w, (nint)y));
                }

                for (var t = 0; t < tokens; t++)
                {
                    using var one = new CpuActivations();
                    values.AsSpan(t * cols, cols).CopyTo(new Span<float>(one.Reset(1, cols), cols));
                    var alone = new float[rows];
                    fixed (float* y = alone)
                    {
                        parallel.MatMul(one, (w, (nint)y));
                    }

                    for (var r = 0; r < rows; r++)
                    {
                        Assert.True(
                            BitConverter.SingleToInt32Bits(alone[r]) == BitConverter.SingleToInt32Bits(together[(t * rows) + r]),
                            $"{type} token {t} row {r}: alone {alone[r]:R}, in the tiled step {together[(t * rows) + r]:R}");
                    }
                }
            }
        }
    }

    private static float[] Multiply(WeightMatrix w, CpuActivations x, int start, int end, bool tiles)
    {
        var y = new float[x.Rows * w.Rows];
        Array.Fill(y, float.NaN);
        var before = CpuQuantMatMul.PrefillTiles;
        CpuQuantMatMul.PrefillTiles = tiles;
        try
        {
            fixed (float* output = y)
            {
                CpuQuantMatMul.KRows(w, x, output, w.Rows, start, end, new float[CpuKQuantTiles.ScratchFloats(w.Cols)]);
            }
        }
        finally
        {
            CpuQuantMatMul.PrefillTiles = before;
        }

        return y;
    }

    private const string NoTiles = "this CPU lacks AVX-VNNI or AVX-512's registers, so the K-quant tiles do not run here (the one-row path does)";

    private sealed class TilesFactAttribute : FactAttribute
    {
        public TilesFactAttribute() => Skip = CpuKQuantTiles.IsSupported ? null : NoTiles;
    }

    private sealed class TilesTheoryAttribute : TheoryAttribute
    {
        public TilesTheoryAttribute() => Skip = CpuKQuantTiles.IsSupported ? null : NoTiles;
    }
}
