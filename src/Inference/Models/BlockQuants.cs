using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using Mesh.Inference.Models.Gguf;

namespace Mesh.Inference.Models;

/// <summary>
/// GGML's 32-value block types Q4_0, Q4_1, Q5_0, Q5_1 and Q8_0, unpacked to their integer form:
/// one int8 quant per value plus a scale d and an offset m per block, value = d × q + m (m = 0 for
/// the symmetric types). Layouts (ggml-common.h): Q4_0 = f16 d, 16 bytes of nibbles (value j in the
/// low nibble of byte j, value j + 16 in its high nibble), q − 8; Q4_1 = f16 d, f16 m, the same
/// nibbles; Q5_0 = f16 d, a 32-bit mask of fifth bits (bit j for value j), the nibbles, q − 16;
/// Q5_1 = f16 d, f16 m, the mask, the nibbles; Q8_0 = f16 d, 32 int8.
/// </summary>
public static unsafe class BlockQuants
{
    /// <summary>Values per block of every type here (ggml's QK4_0 = QK4_1 = QK5_0 = QK5_1 = QK8_0 = 32).</summary>
    public const int BlockSize = 32;

    /// <summary>Whether <paramref name="type"/> is one of the 32-value block types.</summary>
    public static bool Handles(GgmlType type) => type is GgmlType.Q4_0 or GgmlType.Q4_1 or GgmlType.Q5_0 or GgmlType.Q5_1 or GgmlType.Q8_0;

    /// <summary>
    /// Unpacks <paramref name="blocks"/> blocks at <paramref name="src"/> into <paramref name="q"/>
    /// (32 per block), <paramref name="d"/> and <paramref name="m"/> (one per block).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Unpack(GgmlType type, byte* src, int blocks, sbyte* q, float* d, float* m)
    {
        // One loop per type, so that the type test is not repeated for every 32 values.
        var bytes = GgmlTypeInfo.BlockBytes(type);
        switch (type)
        {
            case GgmlType.Q8_0:
                for (var b = 0; b < blocks; b++)
                {
                    var block = src + ((nint)b * bytes);
                    d[b] = HalfTable.ToSingle(*(ushort*)block);
                    m[b] = 0;
                    Unsafe.CopyBlockUnaligned(q + ((nint)b * BlockSize), block + 2, BlockSize);
                }

                break;
            case GgmlType.Q4_0:
                for (var b = 0; b < blocks; b++)
                {
                    var block = src + ((nint)b * bytes);
                    d[b] = HalfTable.ToSingle(*(ushort*)block);
                    m[b] = 0;
                    Nibbles(block + 2, q + ((nint)b * BlockSize), 0, -8);
                }

                break;
            case GgmlType.Q4_1:
                for (var b = 0; b < blocks; b++)
                {
                    var block = src + ((nint)b * bytes);
                    d[b] = HalfTable.ToSingle(*(ushort*)block);
                    m[b] = HalfTable.ToSingle(*(ushort*)(block + 2));
                    Nibbles(block + 4, q + ((nint)b * BlockSize), 0, 0);
                }

                break;
            case GgmlType.Q5_0:
                for (var b = 0; b < blocks; b++)
                {
                    var block = src + ((nint)b * bytes);
                    d[b] = HalfTable.ToSingle(*(ushort*)block);
                    m[b] = 0;
                    Nibbles(block + 6, q + ((nint)b * BlockSize), *(uint*)(block + 2), -16);
                }

                break;
            case GgmlType.Q5_1:
                for (var b = 0; b < blocks; b++)
                {
                    var block = src + ((nint)b * bytes);
                    d[b] = HalfTable.ToSingle(*(ushort*)block);
                    m[b] = HalfTable.ToSingle(*(ushort*)(block + 2));
                    Nibbles(block + 8, q + ((nint)b * BlockSize), *(uint*)(block + 4), 0);
                }

                break;
            default:
                throw new NotSupportedException($"tensor type {type} is not a 32-value block type");
        }
    }

    /// <summary>Dequantizes a row of <paramref name="count"/> values, as ggml does: (d × q) + m per value.</summary>
    public static void ToSingle(GgmlType type, byte* src, int count, Span<float> destination)
    {
        var blocks = count / BlockSize;
        var q = stackalloc sbyte[BlockSize];
        float d, m;
        for (var b = 0; b < blocks; b++)
        {
            Unpack(type, src + ((nint)b * GgmlTypeInfo.BlockBytes(type)), 1, q, &d, &m);
            for (var i = 0; i < BlockSize; i++)
            {
                destination[(b * BlockSize) + i] = (q[i] * d) + m;
            }
        }
    }

    /// <summary>
    /// Sixteen bytes of nibbles to 32 values (low nibbles first), each with its fifth bit from
    /// <paramref name="high"/> (bit i for value i) and <paramref name="offset"/> added.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Nibbles(byte* nibbles, sbyte* values, uint high, int offset)
    {
        if (Vector128.IsHardwareAccelerated && high == 0)
        {
            var packed = Vector128.Load(nibbles);
            var mask = Vector128.Create((byte)0x0F);
            var add = Vector128.Create((sbyte)offset);
            (Vector128.BitwiseAnd(packed, mask).AsSByte() + add).Store(values);
            (Vector128.BitwiseAnd(Vector128.ShiftRightLogical(packed.AsUInt16(), 4).AsByte(), mask).AsSByte() + add).Store(values + 16);
            return;
        }

        for (var j = 0; j < 16; j++)
        {
            values[j] = (sbyte)((nibbles[j] & 0x0F | (int)(((high >> j) & 1) << 4)) + offset);
            values[j + 16] = (sbyte)((nibbles[j] >> 4 | (int)(((high >> (j + 16)) & 1) << 4)) + offset);
        }
    }
}
