using Mesh.Inference.Backends.Cpu;
using Mesh.Inference.Models;
using Mesh.Inference.Models.Gguf;
using static Mesh.Inference.Tests.Backends.FusedQuantDotTests;

namespace Mesh.Inference.Tests.Backends;

/// <summary>
/// The shapes the tile tests do not reach: row counts that are not multiples of the sixteen-, eight-
/// and four-row groups (1, 3, 7, 9, 17, 33), one-block and odd-block widths (32, 64, 96 columns;
/// K-quants 256 and 512), every batch size from 1 to 19, and extreme quants (all stored nibbles 0 or
/// 15 with the fifth bits set, Q8_0 bytes 0xFF, activations of +127 or −127 everywhere). For the 32-value block types every
/// kernel (prefill tile, VNNI and AVX2 eight-row passes, the unpack path) is held against a scalar
/// reference written from <see cref="CpuBlockSums"/>' stated order, so a wrapped int16 sum in any of
/// them shows as a wrong number, not only as a disagreement between two kernels.
/// </summary>
[Collection(SerialCollection.Name)]
public sealed unsafe class QuantKernelEdgeTests
{
    private static readonly int[] RowCounts = [1, 3, 7, 9, 17, 33];

    private static readonly BlockPattern[] Patterns = [BlockPattern.AllOneBits, BlockPattern.AllZeroBits, BlockPattern.Random];

    public static TheoryData<GgmlType> BlockSumTypes() => new(GgmlType.Q4_0, GgmlType.Q4_1, GgmlType.Q5_0, GgmlType.Q5_1, GgmlType.Q8_0);

    public static TheoryData<GgmlType> KTypes() => new(GgmlType.Q2_K, GgmlType.Q3_K, GgmlType.Q4_K, GgmlType.Q5_K, GgmlType.Q6_K);

    /// <summary>The kernel switches each 4/5-bit path is reached by: (prefill tiles, fused decode, VNNI).</summary>
    internal static readonly (bool Tiles, bool Fused, bool Vnni)[] BlockPaths = [(true, true, true), (false, true, true), (false, true, false), (false, false, false)];

    [Theory]
    [MemberData(nameof(BlockSumTypes))]
    public void EveryBlockSumKernelGivesTheStatedOrderForOddShapesAndExtremeQuants(GgmlType type)
    {
        foreach (var cols in new[] { 32, 64, 96 })
        {
            foreach (var rows in RowCounts)
            {
                foreach (var pattern in Patterns)
                {
                    var random = new Random((int)type * 1000 + cols + rows * 7 + (int)pattern);
                    var weights = Weights(type, rows, cols, pattern, random);
                    fixed (byte* data = weights)
                    {
                        var w = new WeightMatrix("w", type, rows, cols, (nint)data);
                        for (var n = 1; n <= 19; n++)
                        {
                            using var x = Tokens(n, cols, random);
                            var expected = Reference(w, x);
                            foreach (var path in BlockPaths)
                            {
                                var y = Multiply(w, x, path);
                                for (var i = 0; i < y.Length; i++)
                                {
                                    Assert.True(
                                        BitConverter.SingleToInt32Bits(y[i]) == BitConverter.SingleToInt32Bits(expected[i]),
                                        $"{type} {pattern} {rows}x{cols}, {n} tokens, path {path}: token {i / rows} row {i % rows}: {y[i]:R}, stated order {expected[i]:R}");
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// <summary>
    /// Two odd-sized matrices behind one input through <see cref="CpuParallel"/> at 1, 2, 3 and 5 threads
    /// (more threads than sixteen-row groups; chunks that start and end inside a group and across the
    /// two matrices): every output is the stated order's.
    /// </summary>
    [Theory]
    [InlineData(GgmlType.Q4_0, GgmlType.Q5_1)]
    [InlineData(GgmlType.Q5_0, GgmlType.Q4_1)]
    public void TheParallelPathGivesTheStatedOrderForOddRowCounts(GgmlType first, GgmlType second)
    {
        foreach (var (rowsA, rowsB, cols) in new[] { (17, 33, 96), (3, 9, 32), (33, 1, 64) })
        {
            var random = new Random(rowsA * 31 + rowsB + cols);
            var a = Weights(first, rowsA, cols, BlockPattern.Random, random);
            var b = Weights(second, rowsB, cols, BlockPattern.AllOneBits, random);
            fixed (byte* pa = a, pb = b)
            {
                var wa = new WeightMatrix("a", first, rowsA, cols, (nint)pa);
                var wb = new WeightMatrix("b", second, rowsB, cols, (nint)pb);
                foreach (var n in new[] { 1, 2, 5, 19 })
                {
                    using var x = Tokens(n, cols, random);
                    var expectedA = Reference(wa, x);
                    var expectedB = Reference(wb, x);
                    foreach (var threads in new[] { 1, 2, 3, 5 })
                    {
                        var ya = new float[n * rowsA];
                        var yb = new float[n * rowsB];
                        using var parallel = new CpuParallel(threads, cols);
                        fixed (float* oa = ya, ob = yb)
                        {
                            parallel.MatMul(x, (wa, (nint)oa), (wb, (nint)ob));
                        }

                        Assert.True(expectedA.AsSpan().SequenceEqual(ya), $"{first} {rowsA}x{cols}, {n} tokens, {threads} threads: differs from the stated order");
                        Assert.True(expectedB.AsSpan().SequenceEqual(yb), $"{second} {rowsB}x{cols}, {n} tokens, {threads} threads: differs from the stated order");
                    }
                }
            }
        }
    }

    /// <summary>
    /// K-quants at 256 and 512 columns, odd row counts and 1–19 tokens: the tiles give the one-row
    /// path's bits, and each token alone (the fused decode kernels) gives its batch bits.
    /// </summary>
    [Theory]
    [MemberData(nameof(KTypes))]
    public void KQuantTilesAndDecodeAgreeForOddShapesAndExtremeQuants(GgmlType type)
    {
        foreach (var cols in new[] { 256, 512 })
        {
            foreach (var rows in RowCounts)
            {
                foreach (var pattern in Patterns)
                {
                    var random = new Random((int)type * 1000 + cols + rows * 7 + (int)pattern);
                    var weights = Weights(type, rows, cols, pattern, random);
                    fixed (byte* data = weights)
                    {
                        var w = new WeightMatrix("w", type, rows, cols, (nint)data);
                        var singles = new List<float[]>();
                        for (var n = 1; n <= 19; n++)
                        {
                            using var x = Tokens(n, cols, random, kQuants: true);
                            var tiles = MultiplyK(w, x, tiles: true);
                            var oneRow = MultiplyK(w, x, tiles: false);
                            for (var i = 0; i < tiles.Length; i++)
                            {
                                Assert.True(
                                    BitConverter.SingleToInt32Bits(tiles[i]) == BitConverter.SingleToInt32Bits(oneRow[i]),
                                    $"{type} {pattern} {rows}x{cols}, {n} tokens: token {i / rows} row {i % rows}: tiles {tiles[i]:R}, one-row {oneRow[i]:R}");
                            }

                            if (n is 7 or 19)
                            {
                                for (var t = 0; t < n; t++)
                                {
                                    using var one = new CpuActivations();
                                    new Span<float>(x.F32 + ((nint)t * cols), cols).CopyTo(new Span<float>(one.Reset(1, cols), cols));
                                    one.EnsureQuantizedK();
                                    var alone = MultiplyK(w, one, tiles: true);
                                    for (var r = 0; r < rows; r++)
                                    {
                                        Assert.True(
                                            BitConverter.SingleToInt32Bits(alone[r]) == BitConverter.SingleToInt32Bits(tiles[(t * rows) + r]),
                                            $"{type} {pattern} {rows}x{cols}, {n} tokens: token {t} row {r}: alone {alone[r]:R}, in the batch {tiles[(t * rows) + r]:R}");
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// <summary>
    /// Q8_0 and the K-quants through <see cref="CpuParallel"/> at odd row
    /// counts and 1, 2, 3 and 5 threads: every output has the bits of one thread on the one-row
    /// kernels, and 1–19 tokens all give each token the bits it gets alone.
    /// </summary>
    [Theory]
    [InlineData(GgmlType.Q8_0, 32)]
    [InlineData(GgmlType.Q8_0, 96)]
    [InlineData(GgmlType.Q4_K, 256)]
    [InlineData(GgmlType.Q6_K, 512)]
    [InlineData(GgmlType.Q3_K, 256)]
    public void OtherTypesThroughTheParallelPathMatchOneThreadOnTheOneRowKernels(GgmlType type, int cols)
    {
        var kQuants = KQuants.Handles(type);
        foreach (var rows in new[] { 1, 9, 33 })
        {
            var random = new Random((int)type + rows + cols);
            var weights = Weights(type, rows, cols, rows == 9 ? BlockPattern.AllOneBits : BlockPattern.Random, random);
            fixed (byte* data = weights)
            {
                var w = new WeightMatrix("w", type, rows, cols, (nint)data);
                using var all = Tokens(19, cols, random, kQuants);
                var alone = new float[19][];
                for (var t = 0; t < 19; t++)
                {
                    using var one = Slice(all, t, 1, cols, kQuants);
                    alone[t] = Through(w, one, threads: 1, tiles: false);
                }

                foreach (var n in new[] { 2, 5, 17, 19 })
                {
                    using var x = Slice(all, 0, n, cols, kQuants);
                    foreach (var threads in new[] { 1, 2, 3, 5 })
                    {
                        foreach (var tiles in new[] { true, false })
                        {
                            var y = Through(w, x, threads, tiles);
                            for (var t = 0; t < n; t++)
                            {
                                Assert.True(
                                    alone[t].AsSpan().SequenceEqual(y.AsSpan(t * rows, rows)),
                                    $"{type} {rows}x{cols}, {n} tokens, {threads} threads, tiles {tiles}: token {t} differs from its output alone");
                            }
                        }
                    }
                }
            }
        }
    }

    private static CpuActivations Slice(CpuActivations from, int first, int count, int cols, bool kQuants)
    {
        var x = new CpuActivations();
        new Span<float>(from.F32 + ((nint)first * cols), count * cols).CopyTo(new Span<float>(x.Reset(count, cols), count * cols));
        if (kQuants)
        {
            x.EnsureQuantizedK();
        }
        else
        {
            x.EnsureQuantized();
        }

        return x;
    }

    private static float[] Through(WeightMatrix w, CpuActivations x, int threads, bool tiles)
    {
        var y = new float[x.Rows * w.Rows];
        var before = CpuQuantMatMul.PrefillTiles;
        CpuQuantMatMul.PrefillTiles = tiles;
        try
        {
            using var parallel = new CpuParallel(threads, w.Cols);
            fixed (float* output = y)
            {
                parallel.MatMul(x, (w, (nint)output));
            }
        }
        finally
        {
            CpuQuantMatMul.PrefillTiles = before;
        }

        return y;
    }

    /// <summary>
    /// n activation rows cycling through +127 everywhere, −127 everywhere, ±127 alternating in threes,
    /// zeros and random values.
    /// </summary>
    private static CpuActivations Tokens(int n, int cols, Random random, bool kQuants = false)
    {
        var x = new CpuActivations();
        var values = new Span<float>(x.Reset(n, cols), n * cols);
        for (var t = 0; t < n; t++)
        {
            var row = values.Slice(t * cols, cols);
            for (var i = 0; i < cols; i++)
            {
                row[i] = (t % 5) switch
                {
                    0 => 0.75f,
                    1 => -0.75f,
                    2 => i % 3 == 0 ? -1.5f : 1.5f,
                    3 => 0f,
                    _ => (float)((random.NextDouble() * 2) - 1),
                };
            }
        }

        if (kQuants)
        {
            x.EnsureQuantizedK();
        }
        else
        {
            x.EnsureQuantized();
        }

        return x;
    }

    /// <summary>
    /// The order <see cref="CpuBlockSums"/> states, in scalar code: per block the exact integer Σ q_w·q_x,
    /// acc = fma(float(isum), d_w·d_x, acc) from +0 in block order; o = Σ m_w·(d_x·Σq_x) by multiply
    /// then add; y = acc + o.
    /// </summary>
    internal static float[] Reference(WeightMatrix w, CpuActivations x)
    {
        var blocks = w.Cols / BlockQuants.BlockSize;
        var hasOffset = w.Type is GgmlType.Q4_1 or GgmlType.Q5_1;
        var q = new sbyte[w.Cols];
        var d = new float[blocks];
        var m = new float[blocks];
        var y = new float[x.Rows * w.Rows];
        fixed (sbyte* pq = q)
        fixed (float* pd = d, pm = m)
        {
            for (var r = 0; r < w.Rows; r++)
            {
                BlockQuants.Unpack(w.Type, w.Row(r), blocks, pq, pd, pm);
                for (var t = 0; t < x.Rows; t++)
                {
                    var xq = x.Q8 + ((nint)t * w.Cols);
                    var acc = 0f;
                    var offset = 0f;
                    for (var b = 0; b < blocks; b++)
                    {
                        var isum = 0;
                        for (var i = 0; i < BlockQuants.BlockSize; i++)
                        {
                            isum += q[(b * BlockQuants.BlockSize) + i] * xq[(b * BlockQuants.BlockSize) + i];
                        }

                        acc = MathF.FusedMultiplyAdd(isum, d[b] * x.Q8Scales[(t * blocks) + b], acc);
                        if (hasOffset)
                        {
                            offset += m[b] * x.Q8Offsets[(t * blocks) + b];
                        }
                    }

                    y[(t * w.Rows) + r] = acc + offset;
                }
            }
        }

        return y;
    }

    internal static float[] Multiply(WeightMatrix w, CpuActivations x, (bool Tiles, bool Fused, bool Vnni) path)
    {
        var y = new float[x.Rows * w.Rows];
        Array.Fill(y, float.NaN);
        var (tiles, fused, vnni) = (CpuQuantMatMul.PrefillTiles, CpuQuantMatMul.FusedDecode, CpuQuantMatMul.Vnni);
        (CpuQuantMatMul.PrefillTiles, CpuQuantMatMul.FusedDecode, CpuQuantMatMul.Vnni) = path;
        try
        {
            fixed (float* output = y)
            {
                CpuMatMul.Rows(w, x, output, w.Rows, 0, w.Rows, new float[Math.Max(w.Cols + (2 * w.Cols / BlockQuants.BlockSize), CpuQuantMatMul.TileScratchFloats(w.Type, w.Cols))]);
            }
        }
        finally
        {
            (CpuQuantMatMul.PrefillTiles, CpuQuantMatMul.FusedDecode, CpuQuantMatMul.Vnni) = (tiles, fused, vnni);
        }

        return y;
    }

    private static float[] MultiplyK(WeightMatrix w, CpuActivations x, bool tiles)
    {
        var y = new float[x.Rows * w.Rows];
        Array.Fill(y, float.NaN);
        var before = CpuQuantMatMul.PrefillTiles;
        CpuQuantMatMul.PrefillTiles = tiles;
        try
        {
            fixed (float* output = y)
            {
                CpuMatMul.Rows(w, x, output, w.Rows, 0, w.Rows, new float[Math.Max(2 * w.Cols, CpuQuantMatMul.TileScratchFloats(w.Type, w.Cols))]);
            }
        }
        finally
        {
            CpuQuantMatMul.PrefillTiles = before;
        }

        return y;
    }
}
