using System.Runtime.Intrinsics.X86;
using Mesh.Inference.Backends.Cpu;
using Mesh.Inference.Models;
using Mesh.Inference.Models.Gguf;

namespace Mesh.Inference.Tests.Backends;

/// <summary>
/// The fused decode kernels (packed blocks unpacked in registers) give, for one activation row,
/// exactly the bits of the unpack-to-scratch path, so a token's logits do not depend on the kernel
/// that decodes it; the 32-value block types sum in the one documented order (<see cref="CpuBlockSums"/>:
/// an integer per block, then an FMA per block), which the prefill tiles keep too; and all equal the dot product of the dequantized
/// weights with the quantized activations, for random blocks and for blocks at the edges of each
/// field's range, over row ranges that do not start at 0 or end on a multiple of four. The AVX-VNNI
/// kernels (vpdpbusd) give exactly the bits of the AVX2 ones for every type, Q8_0 included.
/// </summary>
[Collection(SerialCollection.Name)]
public sealed unsafe class FusedQuantDotTests
{
    public static TheoryData<GgmlType, BlockPattern> Cases()
    {
        var data = new TheoryData<GgmlType, BlockPattern>();
        foreach (var type in new[] { GgmlType.Q4_0, GgmlType.Q4_1, GgmlType.Q5_0, GgmlType.Q5_1, GgmlType.Q8_0, GgmlType.Q4_K, GgmlType.Q5_K, GgmlType.Q6_K })
        {
            foreach (var pattern in Enum.GetValues<BlockPattern>())
            {
                data.Add(type, pattern);
            }
        }

        return data;
    }

    /// <summary>How the weight bytes are filled: random, every bit clear, every bit set, alternating, 0x80 (−128 as a Q8_0 quant).</summary>
    public enum BlockPattern
    {
        Random,
        AllZeroBits,
        AllOneBits,
        Alternating,
        MostNegative,
    }

    [FusedTheory]
    [MemberData(nameof(Cases))]
    public void FusedDecodeEqualsTheUnpackPathBitForBitAndTheDequantizedDot(GgmlType type, BlockPattern pattern)
    {
        Assert.True(CpuFusedQuantDot.Handles(type), $"{type} has no fused decode kernel");

        const int rows = 11;
        var cols = KQuants.Handles(type) ? 3 * KQuants.SuperBlockSize : 7 * BlockQuants.BlockSize;
        var random = new Random(((int)type * 31) + (int)pattern);
        var weights = Weights(type, rows, cols, pattern, random);
        foreach (var activations in Activations(cols, random))
        {
            using var x = new CpuActivations();
            activations.CopyTo(new Span<float>(x.Reset(1, cols), cols));
            x.EnsureQuantized();
            x.EnsureQuantizedK();
            fixed (byte* data = weights)
            {
                var w = new WeightMatrix("w", type, rows, cols, (nint)data);
                foreach (var (start, end) in new[] { (0, rows), (1, 8), (3, 4), (2, 7), (5, 11) })
                {
                    var fused = Multiply(w, x, start, end, fused: true, vnni: false);
                    var vnni = Multiply(w, x, start, end, fused: true, vnni: true);
                    var unpacked = Multiply(w, x, start, end, fused: false, vnni: false);
                    for (var r = 0; r < rows; r++)
                    {
                        if (r < start || r >= end)
                        {
                            Assert.True(float.IsNaN(fused[r]), $"{type} {pattern}: row {r} outside [{start}, {end}) was written");
                            continue;
                        }

                        Assert.True(
                            BitConverter.SingleToInt32Bits(fused[r]) == BitConverter.SingleToInt32Bits(unpacked[r]),
                            $"{type} {pattern} rows [{start}, {end}) row {r}: fused {fused[r]:R}, unpack path {unpacked[r]:R}");
                        Assert.True(
                            BitConverter.SingleToInt32Bits(vnni[r]) == BitConverter.SingleToInt32Bits(fused[r]),
                            $"{type} {pattern} rows [{start}, {end}) row {r}: VNNI {vnni[r]:R}, AVX2 {fused[r]:R}");
                        var (exact, magnitude) = DequantizedDot(w, r, x);
                        Assert.True(
                            Math.Abs(fused[r] - exact) <= (1e-5 * magnitude) + 1e-30,
                            $"{type} {pattern} row {r}: fused {fused[r]:R}, dequantized dot {exact:R} (Σ|w·x| {magnitude:R})");
                    }
                }
            }
        }
    }

    /// <summary>
    /// The 32-value block types sum as <see cref="CpuBlockSums"/> documents, in every decode kernel
    /// (VNNI, AVX2, unpack-to-scratch): per block one exact integer Σ q_w·q_x, then
    /// acc = fma(that, d_w·d_x rounded, acc) in block order, plus the offset term summed block by block
    /// — bit for bit the scalar loop below, which is the order the prefill tiles must also keep. A
    /// kernel that summed eight float lanes per block, or rounded the product before adding, fails.
    /// </summary>
    [FusedTheory]
    [InlineData(GgmlType.Q4_0)]
    [InlineData(GgmlType.Q4_1)]
    [InlineData(GgmlType.Q5_0)]
    [InlineData(GgmlType.Q5_1)]
    [InlineData(GgmlType.Q8_0)]
    public void BlockTypesSumOneIntegerPerBlockThenOneFmaPerBlockInOrder(GgmlType type)
    {
        Assert.True(CpuFusedQuantDot.Handles(type), $"{type} has no fused decode kernel");

        const int rows = 13;
        const int cols = 24 * BlockQuants.BlockSize;
        var random = new Random(101 + (int)type);
        var weights = Weights(type, rows, cols, BlockPattern.Random, random);
        foreach (var activations in Activations(cols, random))
        {
            using var x = new CpuActivations();
            activations.CopyTo(new Span<float>(x.Reset(1, cols), cols));
            x.EnsureQuantized();
            fixed (byte* data = weights)
            {
                var w = new WeightMatrix("w", type, rows, cols, (nint)data);
                var kernels = new[]
                {
                    ("VNNI", Multiply(w, x, 0, rows, fused: true, vnni: true)),
                    ("AVX2", Multiply(w, x, 0, rows, fused: true, vnni: false)),
                    ("unpack", Multiply(w, x, 0, rows, fused: false, vnni: false)),
                };
                for (var r = 0; r < rows; r++)
                {
                    var expected = BlockOrder(w, r, x);
                    foreach (var (name, y) in kernels)
                    {
                        Assert.True(
                            BitConverter.SingleToInt32Bits(y[r]) == BitConverter.SingleToInt32Bits(expected),
                            $"{type} row {r}: {name} {y[r]:R}, block order {expected:R}");
                    }
                }
            }
        }
    }

    /// <summary>The documented summation order of a 32-value block row times Q8_0 activation row 0, as a scalar loop.</summary>
    private static float BlockOrder(WeightMatrix w, int row, CpuActivations x)
    {
        var blocks = w.Cols / BlockQuants.BlockSize;
        var q = new sbyte[w.Cols];
        var d = new float[blocks];
        var m = new float[blocks];
        fixed (sbyte* pq = q)
        fixed (float* pd = d, pm = m)
        {
            BlockQuants.Unpack(w.Type, w.Row(row), blocks, pq, pd, pm);
        }

        float acc = 0, offset = 0;
        for (var b = 0; b < blocks; b++)
        {
            var dot = 0;
            for (var i = 0; i < BlockQuants.BlockSize; i++)
            {
                dot += q[(b * BlockQuants.BlockSize) + i] * x.Q8[(b * BlockQuants.BlockSize) + i];
            }

            acc = MathF.FusedMultiplyAdd(dot, d[b] * x.Q8Scales[b], acc);
            offset += m[b] * x.Q8Offsets[b];
        }

        return acc + offset;
    }

    /// <summary>
    /// A Q8_0 row decoded alone gives the same bits through vpdpbusd as through the AVX2 kernels, and
    /// the same bits as inside a batch of five on the in-place eight-row kernels, for weights
    /// that include −128 and activations at ±127, over row ranges that do not start at 0 or end on a
    /// multiple of four; and it equals the dequantized dot product.
    /// </summary>
    [Theory]
    [InlineData(BlockPattern.Random)]
    [InlineData(BlockPattern.AllOneBits)]
    [InlineData(BlockPattern.Alternating)]
    [InlineData(BlockPattern.MostNegative)]
    public void Q8DecodeIsTheSameThroughVnniAvx2AndTheBatch(BlockPattern pattern)
    {
        const int rows = 11;
        const int cols = 7 * BlockQuants.BlockSize;
        var random = new Random(17 + (int)pattern);
        var weights = Weights(GgmlType.Q8_0, rows, cols, pattern, random);
        foreach (var activations in Activations(cols, random))
        {
            using var one = new CpuActivations();
            activations.CopyTo(new Span<float>(one.Reset(1, cols), cols));
            one.EnsureQuantized();

            // The same token as row 0 (four per weight load) and row 4 (alone) of a batch of five.
            using var batch = new CpuActivations();
            var batchRows = new Span<float>(batch.Reset(5, cols), 5 * cols);
            for (var b = 0; b < 5; b++)
            {
                (b is 0 or 4 ? activations : Activations(cols, random).First()).CopyTo(batchRows[(b * cols)..]);
            }

            batch.EnsureQuantized();
            fixed (byte* data = weights)
            {
                var w = new WeightMatrix("w", GgmlType.Q8_0, rows, cols, (nint)data);
                foreach (var (start, end) in new[] { (0, rows), (1, 8), (3, 4), (5, 11) })
                {
                    var avx2 = MultiplyQ8(w, one, start, end, vnni: false);
                    var vnni = MultiplyQ8(w, one, start, end, vnni: true);
                    var inBatch = MultiplyQ8(w, batch, start, end, vnni: true);
                    for (var r = start; r < end; r++)
                    {
                        var bits = BitConverter.SingleToInt32Bits(avx2[r]);
                        Assert.True(bits == BitConverter.SingleToInt32Bits(vnni[r]), $"{pattern} row {r}: VNNI {vnni[r]:R}, AVX2 {avx2[r]:R}");
                        Assert.True(bits == BitConverter.SingleToInt32Bits(inBatch[r]), $"{pattern} row {r}: alone {avx2[r]:R}, batch row 0 {inBatch[r]:R}");
                        Assert.True(bits == BitConverter.SingleToInt32Bits(inBatch[(4 * rows) + r]), $"{pattern} row {r}: alone {avx2[r]:R}, batch row 4 {inBatch[(4 * rows) + r]:R}");
                        double exact = 0, magnitude = 0;
                        var row = w.Row(r);
                        for (var b = 0; b < cols / BlockQuants.BlockSize; b++)
                        {
                            var d = (double)HalfTable.ToSingle(*(ushort*)(row + (b * 34))) * one.Q8Scales[b];
                            for (var i = 0; i < BlockQuants.BlockSize; i++)
                            {
                                var term = d * ((sbyte*)(row + (b * 34) + 2))[i] * one.Q8[(b * BlockQuants.BlockSize) + i];
                                exact += term;
                                magnitude += Math.Abs(term);
                            }
                        }

                        Assert.True(Math.Abs(vnni[r] - exact) <= (1e-5 * magnitude) + 1e-30, $"{pattern} row {r}: VNNI {vnni[r]:R}, dequantized dot {exact:R}");
                    }
                }
            }
        }
    }

    private static float[] MultiplyQ8(WeightMatrix w, CpuActivations x, int start, int end, bool vnni)
    {
        var y = new float[x.Rows * w.Rows];
        Array.Fill(y, float.NaN);
        var before = CpuQuantMatMul.Vnni;
        CpuQuantMatMul.Vnni = vnni;
        try
        {
            fixed (float* output = y)
            {
                CpuMatMul.Rows(w, x, output, w.Rows, start, end, new float[w.Cols]);
            }
        }
        finally
        {
            CpuQuantMatMul.Vnni = before;
        }

        return y;
    }

    private static float[] Multiply(WeightMatrix w, CpuActivations x, int start, int end, bool fused, bool vnni)
    {
        var y = new float[w.Rows];
        Array.Fill(y, float.NaN);
        var scratch = new float[w.Cols * 2];
        var before = CpuQuantMatMul.FusedDecode;
        var vnniBefore = CpuQuantMatMul.Vnni;
        CpuQuantMatMul.FusedDecode = fused;
        CpuQuantMatMul.Vnni = vnni;
        try
        {
            fixed (float* output = y)
            {
                if (KQuants.Handles(w.Type))
                {
                    CpuQuantMatMul.KRows(w, x, output, w.Rows, start, end, scratch);
                }
                else
                {
                    CpuQuantMatMul.BlockRows(w, x, output, w.Rows, start, end, scratch);
                }
            }
        }
        finally
        {
            CpuQuantMatMul.FusedDecode = before;
            CpuQuantMatMul.Vnni = vnniBefore;
        }

        return y;
    }

    /// <summary>Σ dequantized weight × dequantized activation in double, and Σ of their magnitudes.</summary>
    private static (double Exact, double Magnitude) DequantizedDot(WeightMatrix w, int row, CpuActivations x)
    {
        var values = new float[w.Cols];
        double sum = 0, magnitude = 0;
        if (KQuants.Handles(w.Type))
        {
            KQuants.ToSingle(w.Type, w.Row(row), w.Cols, values);
            for (var i = 0; i < w.Cols; i++)
            {
                var term = (double)values[i] * x.Q8K[i] * x.Q8KScales[i / KQuants.SuperBlockSize];
                sum += term;
                magnitude += Math.Abs(term);
            }

            return (sum, magnitude);
        }

        BlockQuants.ToSingle(w.Type, w.Row(row), w.Cols, values);
        var hasOffset = w.Type is GgmlType.Q4_1 or GgmlType.Q5_1;
        var bytes = GgmlTypeInfo.BlockBytes(w.Type);
        for (var b = 0; b < w.Cols / BlockQuants.BlockSize; b++)
        {
            // value = d·q + m; the m part meets the activations as their stored offset term
            // (scale × Σq, rounded to f16 as ggml's block_q8_1 holds it), as in ggml.
            var m = hasOffset ? HalfTable.ToSingle(*(ushort*)(w.Row(row) + ((nint)b * bytes) + 2)) : 0f;
            for (var i = 0; i < BlockQuants.BlockSize; i++)
            {
                var k = (b * BlockQuants.BlockSize) + i;
                var term = ((double)values[k] - m) * x.Q8[k] * x.Q8Scales[b];
                sum += term;
                magnitude += Math.Abs(term);
            }

            var offset = (double)m * x.Q8Offsets[b];
            sum += offset;
            magnitude += Math.Abs(offset);
        }

        return (sum, magnitude);
    }

    /// <summary>Rows of packed blocks with the quant bits of <paramref name="pattern"/> and finite f16 scales of both signs.</summary>
    internal static byte[] Weights(GgmlType type, int rows, int cols, BlockPattern pattern, Random random)
    {
        var blockBytes = GgmlTypeInfo.BlockBytes(type);
        var blocks = rows * cols / (KQuants.Handles(type) ? KQuants.SuperBlockSize : BlockQuants.BlockSize);
        var data = new byte[blocks * blockBytes];
        switch (pattern)
        {
            case BlockPattern.Random:
                random.NextBytes(data);
                break;
            case BlockPattern.AllOneBits:
                data.AsSpan().Fill(0xFF);
                break;
            case BlockPattern.Alternating:
                data.AsSpan().Fill(0xA5);
                break;
            case BlockPattern.MostNegative:
                data.AsSpan().Fill(0x80);
                break;
        }

        for (var b = 0; b < blocks; b++)
        {
            var block = data.AsSpan(b * blockBytes, blockBytes);
            foreach (var at in ScaleOffsets(type))
            {
                // Finite scales only (the field's edge: ±65504, the largest f16, and 0 in some blocks).
                var scale = (b % 5) switch
                {
                    0 => (Half)0f,
                    1 => Half.MaxValue,
                    _ => (Half)((random.NextDouble() * 2) - 1),
                };
                BitConverter.TryWriteBytes(block[at..], (ushort)BitConverter.HalfToInt16Bits(scale));
            }
        }

        return data;
    }

    /// <summary>Where each f16 scale (d, and m or dmin) sits in a block (ggml-common.h).</summary>
    internal static int[] ScaleOffsets(GgmlType type) => type switch
    {
        GgmlType.Q4_0 or GgmlType.Q5_0 or GgmlType.Q8_0 => [0],
        GgmlType.Q4_1 or GgmlType.Q5_1 or GgmlType.Q4_K or GgmlType.Q5_K => [0, 2],
        GgmlType.Q6_K => [208],
        GgmlType.Q2_K => [80, 82],
        GgmlType.Q3_K => [108],
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, null),
    };

    /// <summary>Random activations, ones that quantize to ±127 everywhere, and all zeros.</summary>
    internal static IEnumerable<float[]> Activations(int cols, Random random)
    {
        yield return [.. Enumerable.Range(0, cols).Select(_ => (float)((random.NextDouble() * 2) - 1))];
        yield return [.. Enumerable.Range(0, cols).Select(i => i % 3 == 0 ? -1.5f : 1.5f)];
        yield return new float[cols];
    }

    /// <summary>Skipped, with the reason, on a CPU without AVX2/FMA: decode takes the unpack path there, which the parity tests cover.</summary>
    private sealed class FusedTheoryAttribute : TheoryAttribute
    {
        public FusedTheoryAttribute() => Skip = Avx2.IsSupported && Fma.IsSupported ? null : "this CPU lacks AVX2/FMA, so the fused decode kernels do not run here (the unpack path does)";
    }
}
