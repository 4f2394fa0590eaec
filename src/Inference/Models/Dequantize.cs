using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using Mesh.Inference.Models.Gguf;

namespace Mesh.Inference.Models;

/// <summary>
/// Converts stored weights to f32. Q8_0 is GGML's format: blocks of 32 values, each block one f16
/// scale followed by 32 int8 quants (value = scale × quant). BF16 is the top half of an f32. The
/// 4/5-bit block types are in <see cref="BlockQuants"/>, the K-quants in <see cref="KQuants"/>.
/// </summary>
public static unsafe class Dequantize
{
    /// <summary>Values per Q8_0 block (ggml's QK8_0).</summary>
    public const int Q8BlockSize = 32;
    /// <summary>Bytes per Q8_0 block: an f16 scale and 32 int8 quants (ggml's <c>block_q8_0</c>).</summary>
    public const int Q8BlockBytes = 34;

    /// <summary>Writes row <paramref name="row"/> of <paramref name="matrix"/> into <paramref name="destination"/>.</summary>
    public static void Row(WeightMatrix matrix, int row, Span<float> destination)
    {
        if (destination.Length < matrix.Cols)
        {
            throw new ArgumentException("destination is shorter than a row", nameof(destination));
        }

        var src = matrix.Row(row);
        var cols = matrix.Cols;
        switch (matrix.Type)
        {
            case GgmlType.F32:
                new ReadOnlySpan<float>(src, cols).CopyTo(destination);
                break;
            case GgmlType.F16:
                TensorPrimitives.ConvertToSingle(new ReadOnlySpan<Half>(src, cols), destination);
                break;
            case GgmlType.BF16:
                BFloat16ToSingle(new ReadOnlySpan<ushort>(src, cols), destination);
                break;
            case GgmlType.Q8_0:
                Q8ToSingle(src, cols, destination);
                break;
            case var t when BlockQuants.Handles(t):
                BlockQuants.ToSingle(t, src, cols, destination);
                break;
            case var t when KQuants.Handles(t):
                KQuants.ToSingle(t, src, cols, destination);
                break;
            default:
                throw new NotSupportedException($"tensor type {matrix.Type}");
        }
    }

    /// <summary>
    /// Widens bf16 values to f32 (the 16 bits become the top half; exact). <paramref name="destination"/> must hold <c>source.Length</c> values.
    /// </summary>
    public static void BFloat16ToSingle(ReadOnlySpan<ushort> source, Span<float> destination)
    {
        var bits = MemoryMarshal.Cast<float, uint>(destination);
        for (var i = 0; i < source.Length; i++)
        {
            bits[i] = (uint)source[i] << 16;
        }
    }

    /// <summary>Round-to-nearest-even f32 → bf16, as PyTorch and GGML convert.</summary>
    public static ushort SingleToBFloat16(float value)
    {
        var bits = BitConverter.SingleToUInt32Bits(value);
        if (float.IsNaN(value))
        {
            return (ushort)((bits >> 16) | 0x40);
        }

        return (ushort)((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16);
    }

    /// <summary>
    /// Dequantizes <paramref name="count"/> values (a multiple of 32) of Q8_0 blocks at <paramref name="src"/>
    /// into <paramref name="destination"/>: value = f16 scale × int8 quant, as ggml's <c>dequantize_row_q8_0</c>.
    /// </summary>
    public static void Q8ToSingle(byte* src, int count, Span<float> destination)
    {
        for (var b = 0; b < count / Q8BlockSize; b++)
        {
            var block = src + (b * Q8BlockBytes);
            var scale = HalfTable.ToSingle(*(ushort*)block);
            var quants = (sbyte*)(block + 2);
            for (var i = 0; i < Q8BlockSize; i++)
            {
                destination[(b * Q8BlockSize) + i] = scale * quants[i];
            }
        }
    }

    /// <summary>Quantizes <paramref name="source"/> to Q8_0 blocks (GGML's rounding: nearest, scale = max|x| / 127).</summary>
    public static void SingleToQ8(ReadOnlySpan<float> source, Span<byte> destination)
    {
        for (var b = 0; b < source.Length / Q8BlockSize; b++)
        {
            var outBlock = destination.Slice(b * Q8BlockBytes, Q8BlockBytes);
            var scale = QuantizeBlock(source.Slice(b * Q8BlockSize, Q8BlockSize), MemoryMarshal.Cast<byte, sbyte>(outBlock[2..]));
            MemoryMarshal.Write(outBlock, (Half)scale);
        }
    }

    /// <summary>
    /// Quantizes one block of 32 values to int8 and returns its scale (max|x| / 127), as ggml's
    /// reference quantizer writes Q8_0 weights (the CPU backend quantizes activations by ggml's x86
    /// rule instead, in <c>CpuActivations</c>, so that its dot products match llama.cpp's).
    /// </summary>
    public static float QuantizeBlock(ReadOnlySpan<float> block, Span<sbyte> quants)
    {
        var scale = MathF.Abs(TensorPrimitives.MaxMagnitude(block)) / 127f;
        var inverse = scale != 0 ? 1f / scale : 0f;
        for (var i = 0; i < Q8BlockSize; i++)
        {
            quants[i] = (sbyte)MathF.Round(block[i] * inverse, MidpointRounding.AwayFromZero);
        }

        return scale;
    }
}
