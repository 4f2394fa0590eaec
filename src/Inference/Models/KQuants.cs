using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using Mesh.Inference.Models.Gguf;

namespace Mesh.Inference.Models;

/// <summary>
/// GGML's K-quants Q2_K, Q3_K, Q4_K, Q5_K and Q6_K (super-blocks of 256 values, ggml-common.h),
/// unpacked to one integer form: an int8 quant per value, an integer scale and min per group of 16
/// values, and a float d and dmin per super-block: value = (d × scale) × q − (dmin × min). Q4_K and
/// Q5_K scale groups of 32, so their scale and min are repeated for both halves; Q3_K and Q6_K have
/// signed quants and no min.
/// </summary>
public static unsafe class KQuants
{
    /// <summary>Values per super-block of every K-quant (ggml's QK_K).</summary>
    public const int SuperBlockSize = 256;
    /// <summary>Values per scale group in the unpacked form (Q4_K/Q5_K's groups of 32 appear as two).</summary>
    public const int GroupSize = 16;
    /// <summary>Scale groups per super-block in the unpacked form (16).</summary>
    public const int GroupsPerSuperBlock = SuperBlockSize / GroupSize;

    /// <summary>Whether <paramref name="type"/> is one of the K-quants Q2_K…Q6_K.</summary>
    public static bool Handles(GgmlType type) => type is GgmlType.Q2_K or GgmlType.Q3_K or GgmlType.Q4_K or GgmlType.Q5_K or GgmlType.Q6_K;

    /// <summary>
    /// Unpacks <paramref name="superBlocks"/> super-blocks at <paramref name="src"/>: 256 quants each
    /// into <paramref name="q"/>, 16 scales and mins each into <paramref name="scales"/> and
    /// <paramref name="mins"/>, one d and dmin each.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Unpack(GgmlType type, byte* src, int superBlocks, sbyte* q, sbyte* scales, sbyte* mins, float* d, float* dmin)
    {
        var bytes = GgmlTypeInfo.BlockBytes(type);
        for (var s = 0; s < superBlocks; s++)
        {
            var block = src + ((nint)s * bytes);
            var values = q + ((nint)s * SuperBlockSize);
            var sc = scales + (s * GroupsPerSuperBlock);
            var mn = mins + (s * GroupsPerSuperBlock);
            switch (type)
            {
                case GgmlType.Q2_K:
                    UnpackQ2K(block, values, sc, mn, d + s, dmin + s);
                    break;
                case GgmlType.Q3_K:
                    UnpackQ3K(block, values, sc, mn, d + s, dmin + s);
                    break;
                case GgmlType.Q4_K:
                case GgmlType.Q5_K:
                    UnpackQ45K(block, type == GgmlType.Q5_K, values, sc, mn, d + s, dmin + s);
                    break;
                case GgmlType.Q6_K:
                    UnpackQ6K(block, values, sc, mn, d + s, dmin + s);
                    break;
                default:
                    throw new NotSupportedException($"tensor type {type} is not a K-quant");
            }
        }
    }

    /// <summary>Dequantizes a row of <paramref name="count"/> values, in ggml's order of operations.</summary>
    public static void ToSingle(GgmlType type, byte* src, int count, Span<float> destination)
    {
        var q = stackalloc sbyte[SuperBlockSize];
        var sc = stackalloc sbyte[GroupsPerSuperBlock];
        var mn = stackalloc sbyte[GroupsPerSuperBlock];
        float d, dmin;
        for (var s = 0; s < count / SuperBlockSize; s++)
        {
            Unpack(type, src + ((nint)s * GgmlTypeInfo.BlockBytes(type)), 1, q, sc, mn, &d, &dmin);
            for (var i = 0; i < SuperBlockSize; i++)
            {
                var g = i / GroupSize;
                destination[(s * SuperBlockSize) + i] = (d * sc[g] * q[i]) - (dmin * mn[g]);
            }
        }
    }

    /// <summary>Q2_K: 16 bytes of (4-bit scale | 4-bit min &lt;&lt; 4), 64 bytes of 2-bit quants, f16 d, f16 dmin.</summary>
    private static void UnpackQ2K(byte* block, sbyte* q, sbyte* sc, sbyte* mn, float* d, float* dmin)
    {
        var packed = block + 16;
        *d = HalfTable.ToSingle(*(ushort*)(block + 80));
        *dmin = HalfTable.ToSingle(*(ushort*)(block + 82));
        for (var g = 0; g < 16; g++)
        {
            sc[g] = (sbyte)(block[g] & 0x0F);
            mn[g] = (sbyte)(block[g] >> 4);
        }

        // Two halves of 128 values, each from 32 bytes; the four 2-bit fields of a byte belong to
        // four successive runs of 32 values.
        for (var half = 0; half < 2; half++)
        {
            for (var shift = 0; shift < 4; shift++)
            {
                var output = q + (half * 128) + (shift * 32);
                for (var l = 0; l < 32; l++)
                {
                    output[l] = (sbyte)((packed[(half * 32) + l] >> (2 * shift)) & 3);
                }
            }
        }
    }

    /// <summary>
    /// Q3_K: 32 bytes of high bits, 64 bytes of 2-bit quants, 12 bytes of 6-bit scales (biased by 32),
    /// f16 d; quant = low 2 bits + 4 × high bit − 4.
    /// </summary>
    private static void UnpackQ3K(byte* block, sbyte* q, sbyte* sc, sbyte* mn, float* d, float* dmin)
    {
        var high = block;
        var packed = block + 32;
        var packedScales = block + 96;
        *d = HalfTable.ToSingle(*(ushort*)(block + 108));
        *dmin = 0;
        for (var g = 0; g < 16; g++)
        {
            // Low four bits: bytes 0–7 (low nibble for groups 0–7, high nibble for 8–15); high two
            // bits: bytes 8–11, two bits per group.
            var low = g < 8 ? packedScales[g] & 0x0F : packedScales[g - 8] >> 4;
            var top = (packedScales[8 + (g % 4)] >> (2 * (g / 4))) & 3;
            sc[g] = (sbyte)((low | (top << 4)) - 32);
            mn[g] = 0;
        }

        for (var half = 0; half < 2; half++)
        {
            for (var shift = 0; shift < 4; shift++)
            {
                var output = q + (half * 128) + (shift * 32);
                var bit = (half * 4) + shift;
                for (var l = 0; l < 32; l++)
                {
                    var low = (packed[(half * 32) + l] >> (2 * shift)) & 3;
                    output[l] = (sbyte)(low + (((high[l] >> bit) & 1) << 2) - 4);
                }
            }
        }
    }

    /// <summary>
    /// Q4_K and Q5_K: f16 d, f16 dmin, 12 bytes of eight 6-bit (scale, min) pairs, [Q5_K: 32 bytes of
    /// fifth bits], 128 bytes of nibbles: each 32 bytes hold 64 values, low nibbles first.
    /// </summary>
    private static void UnpackQ45K(byte* block, bool fiveBits, sbyte* q, sbyte* sc, sbyte* mn, float* d, float* dmin)
    {
        *d = HalfTable.ToSingle(*(ushort*)block);
        *dmin = HalfTable.ToSingle(*(ushort*)(block + 2));
        var packedScales = block + 4;
        for (var j = 0; j < 8; j++)
        {
            int scale, min;
            if (j < 4)
            {
                scale = packedScales[j] & 63;
                min = packedScales[j + 4] & 63;
            }
            else
            {
                scale = (packedScales[j + 4] & 0x0F) | ((packedScales[j - 4] >> 6) << 4);
                min = (packedScales[j + 4] >> 4) | ((packedScales[j] >> 6) << 4);
            }

            sc[2 * j] = sc[(2 * j) + 1] = (sbyte)scale;
            mn[2 * j] = mn[(2 * j) + 1] = (sbyte)min;
        }

        var high = block + 16;
        var nibbles = block + (fiveBits ? 48 : 16);
        var mask = Vector256.Create((byte)0x0F);
        for (var chunk = 0; chunk < 4; chunk++)
        {
            var output = q + (chunk * 64);
            var packed = nibbles + (chunk * 32);
            if (Vector256.IsHardwareAccelerated)
            {
                var v = Vector256.Load(packed);
                var lowHalf = Vector256.BitwiseAnd(v, mask);
                var highHalf = Vector256.BitwiseAnd(Vector256.ShiftRightLogical(v.AsUInt16(), 4).AsByte(), mask);
                if (fiveBits)
                {
                    var h = Vector256.Load(high);
                    var one = Vector256.Create((byte)1);
                    lowHalf |= Vector256.ShiftLeft(Vector256.BitwiseAnd(Vector256.ShiftRightLogical(h.AsUInt16(), 2 * chunk).AsByte(), one).AsUInt16(), 4).AsByte();
                    highHalf |= Vector256.ShiftLeft(Vector256.BitwiseAnd(Vector256.ShiftRightLogical(h.AsUInt16(), (2 * chunk) + 1).AsByte(), one).AsUInt16(), 4).AsByte();
                }

                lowHalf.AsSByte().Store(output);
                highHalf.AsSByte().Store(output + 32);
                continue;
            }

            for (var l = 0; l < 32; l++)
            {
                var fifthLow = fiveBits ? ((high[l] >> (2 * chunk)) & 1) << 4 : 0;
                var fifthHigh = fiveBits ? ((high[l] >> ((2 * chunk) + 1)) & 1) << 4 : 0;
                output[l] = (sbyte)((packed[l] & 0x0F) | fifthLow);
                output[l + 32] = (sbyte)((packed[l] >> 4) | fifthHigh);
            }
        }
    }

    /// <summary>
    /// Q6_K: 128 bytes of low nibbles, 64 bytes of high 2-bit pairs, 16 int8 scales, f16 d; each half
    /// of 128 values takes 64 low-nibble bytes and 32 high bytes, quant − 32.
    /// </summary>
    private static void UnpackQ6K(byte* block, sbyte* q, sbyte* sc, sbyte* mn, float* d, float* dmin)
    {
        *d = HalfTable.ToSingle(*(ushort*)(block + 208));
        *dmin = 0;
        for (var g = 0; g < 16; g++)
        {
            sc[g] = (sbyte)block[192 + g];
            mn[g] = 0;
        }

        var mask = Vector256.Create((byte)0x0F);
        var three = Vector256.Create((byte)3);
        var bias = Vector256.Create((sbyte)32);
        for (var half = 0; half < 2; half++)
        {
            var low = block + (half * 64);
            var high = block + 128 + (half * 32);
            var output = q + (half * 128);
            if (Vector256.IsHardwareAccelerated)
            {
                var l0 = Vector256.Load(low);
                var l1 = Vector256.Load(low + 32);
                var h = Vector256.Load(high).AsUInt16();
                Vector256<byte> Top(int shift) => Vector256.ShiftLeft(Vector256.BitwiseAnd(Vector256.ShiftRightLogical(h, shift).AsByte(), three).AsUInt16(), 4).AsByte();
                Vector256<byte> HighNibble(Vector256<byte> v) => Vector256.BitwiseAnd(Vector256.ShiftRightLogical(v.AsUInt16(), 4).AsByte(), mask);
                ((Vector256.BitwiseAnd(l0, mask) | Top(0)).AsSByte() - bias).Store(output);
                ((Vector256.BitwiseAnd(l1, mask) | Top(2)).AsSByte() - bias).Store(output + 32);
                ((HighNibble(l0) | Top(4)).AsSByte() - bias).Store(output + 64);
                ((HighNibble(l1) | Top(6)).AsSByte() - bias).Store(output + 96);
                continue;
            }

            for (var l = 0; l < 32; l++)
            {
                output[l] = (sbyte)(((low[l] & 0x0F) | (((high[l] >> 0) & 3) << 4)) - 32);
                output[l + 32] = (sbyte)(((low[l + 32] & 0x0F) | (((high[l] >> 2) & 3) << 4)) - 32);
                output[l + 64] = (sbyte)(((low[l] >> 4) | (((high[l] >> 4) & 3) << 4)) - 32);
                output[l + 96] = (sbyte)(((low[l + 32] >> 4) | (((high[l] >> 6) & 3) << 4)) - 32);
            }
        }
    }
}
