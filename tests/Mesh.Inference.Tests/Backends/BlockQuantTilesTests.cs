using Mesh.Inference.Backends.Cpu;
using Mesh.Inference.Models;
using Mesh.Inference.Models.Gguf;
using static Mesh.Inference.Tests.Backends.FusedQuantDotTests;

namespace Mesh.Inference.Tests.Backends;

/// <summary>
/// The int8 register tile of prefill (<see cref="CpuBlockSumTiles"/>: sixteen rows × four tokens for
/// Q8_0 and the 4/5-bit types) gives every output exactly the bits of the in-place eight-row kernels
/// it replaces: at every token count (full and partial groups of four), over row ranges that start
/// and end off multiples of four, eight and sixteen (partial groups of rows),
/// for weights at the edges of each field (Q8_0's −128 included) and activations at ±127 and zero,
/// and through the parallel path at several thread counts; and a token gets inside a batch the bits
/// it gets decoded alone.
/// </summary>
[Collection(SerialCollection.Name)]
public sealed unsafe class BlockQuantTilesTests
{
    private static readonly GgmlType[] Types = [GgmlType.Q8_0, GgmlType.Q4_0, GgmlType.Q4_1, GgmlType.Q5_0, GgmlType.Q5_1];

    private static readonly int[] TokenCounts = [.. Enumerable.Range(1, 13), 64];

    public static TheoryData<GgmlType, BlockPattern> Cases()
    {
        var data = new TheoryData<GgmlType, BlockPattern>();
        foreach (var type in Types)
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
    public void TilesGiveTheOneRowKernelsBitsForEveryTokenCountAndRowRange(GgmlType type, BlockPattern pattern)
    {
        const int rows = 11;
        const int cols = 7 * BlockQuants.BlockSize;
        var random = new Random((int)type * 7919 + (int)pattern);
        var weights = Weights(type, rows, cols, pattern, random);
        fixed (byte* data = weights)
        {
            var w = new WeightMatrix("w", type, rows, cols, (nint)data);
            foreach (var n in TokenCounts)
            {
                var tokens = Tokens(n, cols, random);
                using var x = Quantized(tokens, cols);
                foreach (var (start, end) in new[] { (0, rows), (1, 8), (3, 4), (2, 7), (5, 11), (1, 10), (4, 8) })
                {
                    var tiles = Multiply(w, x, start, end, tiles: true);
                    var oneRow = Multiply(w, x, start, end, tiles: false);
                    for (var t = 0; t < n; t++)
                    {
                        for (var r = 0; r < rows; r++)
                        {
                            var at = (t * rows) + r;
                            if (r < start || r >= end)
                            {
                                Assert.True(float.IsNaN(tiles[at]), $"{type} {pattern} n={n}: token {t} row {r} outside [{start}, {end}) was written");
                                continue;
                            }

                            Assert.True(
                                BitConverter.SingleToInt32Bits(tiles[at]) == BitConverter.SingleToInt32Bits(oneRow[at]),
                                $"{type} {pattern} n={n} rows [{start}, {end}) token {t} row {r}: tiles {tiles[at]:R}, one-row kernels {oneRow[at]:R}");
                        }
                    }
                }

                if (n is 5 or 13)
                {
                    // Each token decoded alone (the fused or VNNI decode kernels) gives the batch's bits.
                    var batch = Multiply(w, x, 0, rows, tiles: true);
                    for (var t = 0; t < n; t++)
                    {
                        using var one = Quantized([tokens[t]], cols);
                        var alone = Multiply(w, one, 0, rows, tiles: true);
                        for (var r = 0; r < rows; r++)
                        {
                            Assert.True(
                                BitConverter.SingleToInt32Bits(alone[r]) == BitConverter.SingleToInt32Bits(batch[(t * rows) + r]),
                                $"{type} {pattern} n={n} token {t} row {r}: alone {alone[r]:R}, in the batch {batch[(t * rows) + r]:R}");
                        }
                    }
                }
            }
        }
    }

    /// <summary>
    /// Two matrices behind one input (as Q, K and V share one) through <see cref="CpuParallel.MatMul"/>:
    /// the chunks start and end anywhere, within a matrix and across the two, and every thread count
    /// gives the bits of one thread on the one-row kernels.
    /// </summary>
    [TilesTheory]
    [InlineData(GgmlType.Q8_0, GgmlType.Q4_1)]
    [InlineData(GgmlType.Q4_0, GgmlType.Q5_0)]
    [InlineData(GgmlType.Q5_1, GgmlType.Q8_0)]
    public void TilesGiveTheOneRowBitsThroughTheParallelPathForEveryThreadCount(GgmlType first, GgmlType second)
    {
        const int cols = 9 * BlockQuants.BlockSize;
        const int rowsA = 203, rowsB = 61;
        var random = new Random((int)first * 31 + (int)second);
        var a = Weights(first, rowsA, cols, BlockPattern.Random, random);
        var b = Weights(second, rowsB, cols, BlockPattern.Random, random);
        foreach (var n in new[] { 7, 64 })
        {
            using var x = Quantized(Tokens(n, cols, random), cols);
            fixed (byte* pa = a, pb = b)
            {
                var wa = new WeightMatrix("a", first, rowsA, cols, (nint)pa);
                var wb = new WeightMatrix("b", second, rowsB, cols, (nint)pb);
                var (expectedA, expectedB) = ThroughMatMul(wa, wb, x, threads: 1, tiles: false);
                foreach (var threads in new[] { 1, 2, 3, 5 })
                {
                    var (ya, yb) = ThroughMatMul(wa, wb, x, threads, tiles: true);
                    Assert.True(expectedA.AsSpan().SequenceEqual(ya), $"{first} n={n}, {threads} threads: tiles differ from the one-row kernels");
                    Assert.True(expectedB.AsSpan().SequenceEqual(yb), $"{second} n={n}, {threads} threads: tiles differ from the one-row kernels");
                }
            }
        }
    }

    private static (float[] A, float[] B) ThroughMatMul(WeightMatrix wa, WeightMatrix wb, CpuActivations x, int threads, bool tiles)
    {
        var ya = new float[x.Rows * wa.Rows];
        var yb = new float[x.Rows * wb.Rows];
        var before = CpuQuantMatMul.PrefillTiles;
        CpuQuantMatMul.PrefillTiles = tiles;
        try
        {
            using var parallel = new CpuParallel(threads, wa.Cols);
            fixed (float* pa = ya, pb = yb)
            {
                parallel.MatMul(x, (wa, (nint)pa), (wb, (nint)pb));
            }
        }
        finally
        {
            CpuQuantMatMul.PrefillTiles = before;
        }

        Assert.Contains(ya, v => v != 0);
        return (ya, yb);
    }

    /// <summary>
    /// <paramref name="n"/> activation rows: random ones, with a row that quantizes to ±127 everywhere
    /// (second), a zero row (third), a row of +127 everywhere (fourth) and another ±127 row of the
    /// opposite signs (last) where n allows.
    /// </summary>
    private static float[][] Tokens(int n, int cols, Random random)
    {
        var tokens = new float[n][];
        for (var t = 0; t < n; t++)
        {
            tokens[t] = t switch
            {
                1 => [.. Enumerable.Range(0, cols).Select(i => i % 3 == 0 ? -1.5f : 1.5f)],
                2 => new float[cols],

                // +127 everywhere: with all-ones weights, the largest sums the tiles' int16 steps hold.
                3 => [.. Enumerable.Repeat(0.75f, cols)],
                _ when t == n - 1 && n > 3 => [.. Enumerable.Range(0, cols).Select(i => i % 3 == 0 ? 2f : -2f)],
                _ => Activations(cols, random).First(),
            };
        }

        return tokens;
    }

    private static CpuActivations Quantized(float[][] tokens, int cols)
    {
        var x = new CpuActivations();
        var rows = new Span<float>(x.Reset(tokens.Length, cols), tokens.Length * cols);
        for (var t = 0; t < tokens.Length; t++)
        {
            tokens[t].CopyTo(rows[(t * cols)..]);
        }

        x.EnsureQuantized();
        return x;
    }

    /// <summary>y = x · Wᵀ for rows [start, end) through <see cref="CpuMatMul.Rows"/>, NaN elsewhere.</summary>
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
                CpuMatMul.Rows(w, x, output, w.Rows, start, end, new float[CpuQuantMatMul.TileScratchFloats(w.Type, w.Cols)]);
            }
        }
        finally
        {
            CpuQuantMatMul.PrefillTiles = before;
        }

        return y;
    }

    /// <summary>Skipped, with the reason, on a CPU without the tiles' instructions: batches take the one-row kernels there whatever the switch says.</summary>
    private sealed class TilesTheoryAttribute : TheoryAttribute
    {
        public TilesTheoryAttribute() => Skip = CpuBlockSumTiles.IsSupported ? null : "this CPU lacks AVX-512 (F/BW) or AVX-VNNI, so the block-sum tiles do not run here (the one-row kernels do)";
    }
}
