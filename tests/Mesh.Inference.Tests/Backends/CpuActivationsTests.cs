using Mesh.Inference.Backends.Cpu;
using Mesh.Inference.Models;

namespace Mesh.Inference.Tests.Backends;

/// <summary>
/// Activations are quantized to Q8_0 by ggml's x86 rule (quants from 127 / max|x| rounded half to
/// even, f16 scale and offset term, negated block sum) exactly as the rule written out value
/// by value gives them: for random blocks, ties at .5, zero blocks, and the edges where the inverse
/// overflows (a denormal maximum) or the block holds ±∞ or NaN — the cases a vectorized quantizer
/// must keep (one that converted without .NET's saturation failed on the denormal block).
/// </summary>
public sealed unsafe class CpuActivationsTests
{
    [Fact]
    public void Q8QuantsScalesOffsetsAndQuadSumsFollowGgmlsRuleValueByValue()
    {
        const int block = Dequantize.Q8BlockSize;
        var random = new Random(5);
        var blocks = new List<float[]>();
        for (var i = 0; i < 40; i++)
        {
            var magnitude = Math.Pow(10, random.Next(-6, 6));
            blocks.Add([.. Enumerable.Range(0, block).Select(_ => (float)(((random.NextDouble() * 2) - 1) * magnitude))]);
        }

        // max|x| = 127 makes the inverse 1, so every k + 0.5 is a tie: half to even.
        blocks.Add([127f, .. Enumerable.Range(0, block - 1).Select(k => (k - 15) + 0.5f)]);
        blocks.Add([-127f, .. Enumerable.Range(0, block - 1).Select(k => -((k - 15) + 0.5f))]);
        blocks.Add(new float[block]);
        blocks.Add([1e-40f, -3e-41f, .. new float[block - 2]]); // a denormal maximum: the inverse is +∞
        blocks.Add([float.PositiveInfinity, 1f, -2f, .. new float[block - 3]]);
        blocks.Add([float.NaN, 1f, -2f, .. new float[block - 3]]);
        blocks.Add([float.MaxValue, -float.MaxValue, 1f, .. new float[block - 3]]);

        using var x = Quantized(blocks);
        for (var b = 0; b < blocks.Count; b++)
        {
            var (quants, scale, offset, sum) = Reference(blocks[b]);
            for (var i = 0; i < block; i++)
            {
                Assert.True(quants[i] == x.Q8[(b * block) + i], $"block {b} value {i} ({blocks[b][i]:R}): quant {x.Q8[(b * block) + i]}, rule {quants[i]}");
            }

            Assert.Equal(-sum, x.Q8BlockSumsNegated[b]);

            Assert.Equal(BitConverter.SingleToInt32Bits(scale), BitConverter.SingleToInt32Bits(x.Q8Scales[b]));
            Assert.Equal(BitConverter.SingleToInt32Bits(offset), BitConverter.SingleToInt32Bits(x.Q8Offsets[b]));
        }

        Assert.Contains(Enumerable.Range(0, blocks.Count * block), i => x.Q8[i] is 127 or -127);
    }

    /// <summary>
    /// No activation quant is −128, whatever the block: the Q8_0 kernels rely on it. Their AVX2 path
    /// moves a weight's sign onto the activation (vpsignb), which cannot negate −128, and sums pairs
    /// in int16, where 2·128·127 = 32,512 fits but 2·128·128 would saturate (Q8_0 weights do reach
    /// −128). Blocks at the edges: ±max in both orders, values a rounding short of and past ±max·(k + ½)/127,
    /// the largest finite floats, a denormal maximum (inverse +∞), ±∞ and NaN.
    /// </summary>
    [Fact]
    public void Q8QuantsStayWithinPlusMinus127SoTheInt8KernelsCannotSaturate()
    {
        const int block = Dequantize.Q8BlockSize;
        List<float[]> blocks =
        [
            [-1f, 1f, .. new float[block - 2]],
            [1f, -1f, .. new float[block - 2]],
            [-1f, .. Enumerable.Repeat(-1f, block - 1)],
            [-float.MaxValue, float.MaxValue, -float.MaxValue, .. new float[block - 3]],
            [-1e-40f, 3e-41f, -1e-45f, .. new float[block - 3]],
            [float.NegativeInfinity, -1f, 2f, .. new float[block - 3]],
            [float.NaN, -1f, 2f, .. new float[block - 3]],
        ];
        var random = new Random(11);
        for (var i = 0; i < 200; i++)
        {
            // The largest magnitude negative, the others just inside it, at scales across the float range.
            var max = (float)Math.Pow(2, random.Next(-120, 120));
            blocks.Add([-max, .. Enumerable.Range(0, block - 1).Select(_ => BitConverter.Int32BitsToSingle(BitConverter.SingleToInt32Bits(max) - random.Next(0, 4)) * (random.Next(2) == 0 ? -1 : 1))]);
        }

        using var x = Quantized(blocks);
        for (var i = 0; i < blocks.Count * block; i++)
        {
            Assert.True(x.Q8[i] >= -127, $"block {i / block} value {i % block} ({blocks[i / block][i % block]:R}) quantized to {x.Q8[i]}");
        }

        Assert.Contains(Enumerable.Range(0, blocks.Count * block), i => x.Q8[i] == -127);
    }

    /// <summary>ggml's quantize_row_q8_0 (x86) for one block, written out value by value.</summary>
    private static (sbyte[] Quants, float Scale, float Offset, int Sum) Reference(float[] block)
    {
        var max = MathF.Abs(System.Numerics.Tensors.TensorPrimitives.MaxMagnitude(block));
        var scale = max / 127f;
        var inverse = max != 0 ? 127f / max : 0f;
        var quants = new sbyte[block.Length];
        var sum = 0;
        for (var i = 0; i < block.Length; i++)
        {
            var q = (int)MathF.Round(block[i] * inverse, MidpointRounding.ToEven);
            quants[i] = (sbyte)q;
            sum += q;
        }

        return (quants, (float)(Half)scale, (float)(Half)(scale * sum), sum);
    }

    /// <summary>The 32-value blocks laid out four to an activation row (a last row's spare blocks zero), quantized.</summary>
    private static CpuActivations Quantized(List<float[]> blocks)
    {
        const int block = Dequantize.Q8BlockSize;
        const int cols = 4 * block;
        var rows = (blocks.Count + 3) / 4;
        var x = new CpuActivations();
        var values = new Span<float>(x.Reset(rows, cols), rows * cols);
        values.Clear();
        for (var b = 0; b < blocks.Count; b++)
        {
            blocks[b].CopyTo(values[(b * block)..]);
        }

        x.EnsureQuantized();
        return x;
    }
}
