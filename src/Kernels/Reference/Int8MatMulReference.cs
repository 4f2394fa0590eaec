using Mesh.Kernels.Launch;

namespace Mesh.Kernels.Reference;

/// <summary>
/// The int8 tensor-core GEMMs of <c>matmul_int8.ptx</c> on the CPU, exactly: activations quantized
/// per 32 values as <c>quantize_q8_f32</c> does (scale = max|x| / 127 rounded to f16, quants
/// round-half-even(x·(127 / max|x|)); the CPU backend's rule for Q8_0 activations, ggml's on x86),
/// then per output and block b the exact integer dot product of the quants, accumulated in
/// increasing b as <c>acc = fma(float(isum), d_w·d_a, acc)</c>. The integer sums are exact in any
/// order (|isum| ≤ 32·127·128 &lt; 2²⁴, so the float conversion is exact too); the float steps are
/// the kernel's, one per block, so the GPU check demands equality.
/// </summary>
public static class Int8MatMulReference
{
    /// <summary>Values per quantization block (ggml's QK8_0).</summary>
    public const int BlockValues = 32;

    /// <summary>
    /// Quantizes <paramref name="rows"/>×<paramref name="k"/> activations: <paramref name="quants"/>
    /// [rows][k], <paramref name="scales"/> [rows][k/32].
    /// </summary>
    /// <exception cref="ArgumentException">K not a multiple of 32, or a span too short.</exception>
    public static void Quantize(ReadOnlySpan<float> x, int rows, int k, Span<sbyte> quants, Span<float> scales)
    {
        KernelShapes.QuantizeQ8(rows, k);
        var blocks = rows * k / BlockValues;
        if (x.Length < (long)rows * k || quants.Length < (long)rows * k || scales.Length < blocks)
        {
            throw new ArgumentException($"spans too short for {rows}x{k} activations");
        }
        for (var b = 0; b < blocks; b++)
        {
            var block = x.Slice(b * BlockValues, BlockValues);
            var max = 0f;
            foreach (var v in block)
            {
                max = MathF.Max(max, MathF.Abs(v));
            }
            var inverse = max != 0 ? 127f / max : 0f;
            for (var i = 0; i < BlockValues; i++)
            {
                quants[(b * BlockValues) + i] = (sbyte)(int)MathF.Round(block[i] * inverse, MidpointRounding.ToEven);
            }
            scales[b] = (float)(Half)(max / 127f);
        }
    }

    /// <summary>
    /// Q4_0 rows (<paramref name="n"/> × <paramref name="k"/>, 18-byte blocks as stored) in the split
    /// form <see cref="MatMul"/> takes: int8 q − 8 per value (value j &lt; 16 the low nibble of byte j,
    /// else the high nibble of byte j − 16) and the block's f16 d; what <c>matmul_q4_0_s8</c> builds in registers.
    /// </summary>
    /// <exception cref="ArgumentException">K not a multiple of 32, or a span too short.</exception>
    public static void SplitQ4_0(ReadOnlySpan<byte> blocks, int n, int k, Span<sbyte> quants, Span<Half> scales)
    {
        KernelShapes.MatMulInt8(1, n, k);
        var count = (long)n * k / BlockValues;
        if (blocks.Length < count * 18 || quants.Length < (long)n * k || scales.Length < count)
        {
            throw new ArgumentException($"spans too short for {n}x{k} Q4_0 weights");
        }
        for (var b = 0; b < count; b++)
        {
            var block = blocks.Slice(b * 18, 18);
            scales[b] = BitConverter.UInt16BitsToHalf((ushort)(block[0] | (block[1] << 8)));
            for (var j = 0; j < BlockValues; j++)
            {
                quants[(b * BlockValues) + j] = (sbyte)((j < 16 ? block[2 + j] & 0xF : block[2 + j - 16] >> 4) - 8);
            }
        }
    }

    /// <summary>
    /// c[m][n] = Σ_b fma order over blocks of isum·(d_w[n][b]·d_a[m][b]) with the weights in
    /// <see cref="Layout.Q8Layout"/>'s split form (<paramref name="weightQuants"/> [n][k],
    /// <paramref name="weightScales"/> [n][k/32]) and activations from <see cref="Quantize"/>.
    /// </summary>
    /// <exception cref="ArgumentException">K not a multiple of 32, or a span too short.</exception>
    public static void MatMul(ReadOnlySpan<sbyte> weightQuants, ReadOnlySpan<Half> weightScales, ReadOnlySpan<sbyte> quants, ReadOnlySpan<float> scales, Span<float> c, int m, int n, int k)
    {
        KernelShapes.MatMulInt8(m, n, k);
        var blocks = k / BlockValues;
        if (weightQuants.Length < (long)n * k || weightScales.Length < (long)n * blocks || quants.Length < (long)m * k || scales.Length < (long)m * blocks || c.Length < (long)m * n)
        {
            throw new ArgumentException($"spans too short for {m}x{k} activations, {n}x{k} weights and {m}x{n} outputs");
        }
        for (var t = 0; t < m; t++)
        {
            for (var o = 0; o < n; o++)
            {
                var acc = 0f;
                for (var b = 0; b < blocks; b++)
                {
                    var isum = 0;
                    for (var i = 0; i < BlockValues; i++)
                    {
                        isum += weightQuants[(o * k) + (b * BlockValues) + i] * quants[(t * k) + (b * BlockValues) + i];
                    }
                    acc = MathF.FusedMultiplyAdd(isum, (float)weightScales[(o * blocks) + b] * scales[(t * blocks) + b], acc);
                }
                c[(t * n) + o] = acc;
            }
        }
    }
}
