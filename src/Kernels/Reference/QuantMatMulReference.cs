using System.Buffers.Binary;
using Mesh.Kernels.Launch;

namespace Mesh.Kernels.Reference;

/// <summary>
/// The quantized prefill GEMMs of <c>matmul_quant.ptx</c> and <c>matmul_kquant.ptx</c> on the CPU,
/// rounding for rounding: each weight value is dequantized as the kernel writes it to shared memory
/// (f32 <c>d·q</c>, Q4_0 <c>d·(q − 8)</c>, K-quants <c>(d·sc)·q − dmin·m</c>), and each output accumulates one single-rounding <c>fma(a[m][k], w[n][k], acc)</c>
/// per k in increasing k from 0. The kernel's 64×64×32 tiling decides which thread computes an
/// output and when its operands reach shared memory, never the order of an output's operations, so
/// this loop is its exact result (the GPU check compares the two); the CPU tests hold it to the CPU
/// backend's dequantizer and quantized matmul.
/// </summary>
public static class QuantMatMulReference
{
    /// <summary>
    /// c[m][n] = Σ_k a[m][k]·W[n][k] for <paramref name="m"/> tokens and <paramref name="n"/> weight
    /// rows; <paramref name="weights"/> holds n rows of <see cref="BlockQuantFormats.RowBytes"/>
    /// bytes in ggml's block layout of <paramref name="format"/>, <paramref name="a"/> is [m][k], <paramref name="c"/> [m][n].
    /// </summary>
    /// <exception cref="ArgumentException">K not a whole number of blocks, or a span too short.</exception>
    public static void MatMul(BlockQuantFormat format, ReadOnlySpan<byte> weights, ReadOnlySpan<float> a, Span<float> c, int m, int n, int k)
    {
        KernelShapes.MatMulQuant(m, n, k, format);
        var rowBytes = (int)BlockQuantFormats.RowBytes(format, k);
        if (weights.Length < (long)rowBytes * n || a.Length < (long)m * k || c.Length < (long)m * n)
        {
            throw new ArgumentException($"spans too short for {m}x{k} activations, {n} {format} weight rows and {m}x{n} outputs");
        }
        var row = new float[k];
        for (var o = 0; o < n; o++)
        {
            DequantizeRow(format, weights.Slice(o * rowBytes, rowBytes), row);
            for (var t = 0; t < m; t++)
            {
                var at = a.Slice(t * k, k);
                var acc = 0f;
                for (var i = 0; i < k; i++)
                {
                    acc = MathF.FusedMultiplyAdd(at[i], row[i], acc);
                }
                c[(t * n) + o] = acc;
            }
        }
    }

    /// <summary>
    /// One weight row as the kernels' loaders write it to shared memory: Q8_0/Q4_0 f32 d times the
    /// integer quant; the K-quants (d·sc)·q − dmin·m (Q6_K (d·sc)·q), each product and the
    /// difference rounded once, which is also the CPU backend's <c>KQuants.ToSingle</c>.
    /// </summary>
    public static void DequantizeRow(BlockQuantFormat format, ReadOnlySpan<byte> w, Span<float> row)
    {
        var bytes = BlockQuantFormats.BlockBytes(format);
        var values = BlockQuantFormats.BlockValues(format);
        for (var b = 0; b < row.Length / values; b++)
        {
            var block = w.Slice(b * bytes, bytes);
            var output = row.Slice(b * values, values);
            switch (format)
            {
                case BlockQuantFormat.Q8_0 or BlockQuantFormat.Q4_0:
                    var d = Half16(block, 0);
                    for (var j = 0; j < 32; j++)
                    {
                        output[j] = format == BlockQuantFormat.Q8_0
                            ? d * (sbyte)block[2 + j]
                            : d * (j < 16 ? (block[2 + j] & 0xF) - 8 : (block[2 + j - 16] >> 4) - 8);
                    }
                    break;
                case BlockQuantFormat.Q4_K or BlockQuantFormat.Q5_K:
                    DequantizeQ45K(block, format == BlockQuantFormat.Q5_K, output);
                    break;
                default:
                    DequantizeQ6K(block, output);
                    break;
            }
        }
    }

    /// <summary>
    /// Group g (values 32g..32g+31): nibbles of qs[32(g/2) + i] (low for even g), Q5_K adding bit g
    /// of qh[i] as the 5th bit; scale and min of group g by ggml's get_scale_min_k4.
    /// </summary>
    private static void DequantizeQ45K(ReadOnlySpan<byte> block, bool highBits, Span<float> output)
    {
        float d = Half16(block, 0), dmin = Half16(block, 2);
        var scales = block.Slice(4, 12);
        var qs = block[(highBits ? 48 : 16)..];
        for (var g = 0; g < 8; g++)
        {
            var (sc, m) = g < 4
                ? (scales[g] & 63, scales[g + 4] & 63)
                : ((scales[g + 4] & 0xF) | ((scales[g - 4] >> 6) << 4), (scales[g + 4] >> 4) | ((scales[g] >> 6) << 4));
            float ds = d * sc, dm = dmin * m;
            for (var i = 0; i < 32; i++)
            {
                var q = (qs[(32 * (g >> 1)) + i] >> (4 * (g & 1))) & 0xF;
                if (highBits)
                {
                    q |= ((block[16 + i] >> g) & 1) << 4;
                }
                output[(32 * g) + i] = (ds * q) - dm;
            }
        }
    }

    /// <summary>
    /// Group g = 4h + kk (values 32g..32g+31): nibble (high for kk ≥ 2) of ql[64h + 32(kk &amp; 1) + i],
    /// bits 2kk of qh[32h + i] as bits 4–5, minus 32; int8 scale sc[8h + i/16 + 2kk] (ggml's dequantize_row_q6_K).
    /// </summary>
    private static void DequantizeQ6K(ReadOnlySpan<byte> block, Span<float> output)
    {
        var d = Half16(block, 208);
        for (var g = 0; g < 8; g++)
        {
            int h = g >> 2, kk = g & 3;
            for (var i = 0; i < 32; i++)
            {
                var low = (block[(64 * h) + (32 * (kk & 1)) + i] >> (4 * (kk >> 1))) & 0xF;
                var high = (block[128 + (32 * h) + i] >> (2 * kk)) & 3;
                var sc = (sbyte)block[192 + (8 * h) + (i / 16) + (2 * kk)];
                output[(32 * g) + i] = d * sc * ((low | (high << 4)) - 32);
            }
        }
    }

    private static float Half16(ReadOnlySpan<byte> bytes, int offset) => (float)BitConverter.UInt16BitsToHalf(BinaryPrimitives.ReadUInt16LittleEndian(bytes[offset..]));
}
