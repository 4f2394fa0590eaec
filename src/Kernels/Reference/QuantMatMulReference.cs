using System.Buffers.Binary;
using Mesh.Kernels.Launch;

namespace Mesh.Kernels.Reference;

/// <summary>
/// The quantized prefill GEMM of <c>matmul_quant.ptx</c> on the CPU, rounding for rounding: each
/// weight value is dequantized as the kernel writes it to shared memory (f32 <c>d·q</c>, Q4_0
/// <c>d·(q − 8)</c>), and each output accumulates one single-rounding <c>fma(a[m][k], w[n][k], acc)</c>
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
    /// bytes in ggml's Q8_0 or Q4_0 block layout, <paramref name="a"/> is [m][k], <paramref name="c"/> [m][n].
    /// </summary>
    /// <exception cref="ArgumentException">Another format, K not a multiple of 32, or a span too short.</exception>
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

    /// <summary>One weight row as the kernel's loaders write it to shared memory: f32 d times the integer quant.</summary>
    private static void DequantizeRow(BlockQuantFormat format, ReadOnlySpan<byte> w, Span<float> row)
    {
        var bytes = BlockQuantFormats.BlockBytes(format);
        for (var b = 0; b < row.Length / 32; b++)
        {
            var block = w.Slice(b * bytes, bytes);
            var d = (float)BitConverter.UInt16BitsToHalf(BinaryPrimitives.ReadUInt16LittleEndian(block));
            var values = row.Slice(b * 32, 32);
            for (var j = 0; j < 32; j++)
            {
                values[j] = format == BlockQuantFormat.Q8_0
                    ? d * (sbyte)block[2 + j]
                    : d * (j < 16 ? (block[2 + j] & 0xF) - 8 : (block[2 + j - 16] >> 4) - 8);
            }
        }
    }
}
