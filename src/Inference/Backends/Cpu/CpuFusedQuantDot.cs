using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Mesh.Inference.Models;
using Mesh.Inference.Models.Gguf;

namespace Mesh.Inference.Backends.Cpu;

/// <summary>
/// Decode (one activation row) dot products that read the packed weight blocks straight from the
/// model and unpack their nibbles, fifth bits and scales in registers (and/shift, then maddubs/madd
/// with the sign trick; Q8_0's bytes need no unpacking), so a weight row streams from memory once
/// with no scratch round trip. Every integer and every float operation is the one
/// <see cref="CpuQuantMatMul"/>'s unpack-then-dot path and the prefill tiles perform, in the same
/// order (for the 32-value block types the order of
/// <see cref="CpuBlockSums"/>, whose eight-row driver these kernels feed), so a token gets
/// bit-identical results whether it is decoded alone (here) or inside a batch. AVX2/FMA only; the
/// caller keeps the scalar path.
/// </summary>
internal static unsafe class CpuFusedQuantDot
{
    /// <summary>Whether <paramref name="type"/> has a fused decode kernel on this CPU.</summary>
    public static bool Handles(GgmlType type) =>
        Avx2.IsSupported && Fma.IsSupported &&
        type is GgmlType.Q4_0 or GgmlType.Q4_1 or GgmlType.Q5_0 or GgmlType.Q5_1 or GgmlType.Q8_0 or GgmlType.Q4_K or GgmlType.Q5_K or GgmlType.Q6_K;

    /// <summary>
    /// Output columns [rowStart, rowEnd) of y (row stride <paramref name="yStride"/>) for every
    /// activation row (Q8_0) of <paramref name="x"/>: the 32-value block type rows of <paramref name="w"/>,
    /// eight rows per pass with one integer per row and block (<see cref="CpuBlockSums"/>).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void BlockRows(WeightMatrix w, CpuActivations x, float* y, int yStride, int rowStart, int rowEnd)
    {
        CpuBlockSums.MultiplyRows<CpuBlockSums.Avx2Quads>(w, x, y, yStride, rowStart, rowEnd);
    }

    /// <summary>y[r] for r in [rowStart, rowEnd): the K-quant rows of <paramref name="w"/> times activation row 0 (Q8_K).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void KRows(WeightMatrix w, CpuActivations x, float* y, int rowStart, int rowEnd)
    {
        var superBlocks = w.Cols / KQuants.SuperBlockSize;
        for (var r = rowStart; r < rowEnd; r++)
        {
            y[r] = w.Type switch
            {
                GgmlType.Q4_K => DotQ45K(w.Row(r), fiveBits: false, x.Q8K, x.Q8KScales, x.Q8KSums, superBlocks),
                GgmlType.Q5_K => DotQ45K(w.Row(r), fiveBits: true, x.Q8K, x.Q8KScales, x.Q8KSums, superBlocks),
                GgmlType.Q6_K => DotQ6K(w.Row(r), x.Q8K, x.Q8KScales, superBlocks),
                _ => throw new NotSupportedException($"no fused kernel for {w.Type}"),
            };
        }
    }

    /// <summary>Bit j of <paramref name="bits"/> as 16 in byte j (0 where clear): the fifth bits of Q5_0/Q5_1.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector256<byte> FifthBits(uint bits)
    {
        // Byte j takes byte j / 8 of the mask, then keeps bit j % 8.
        var spread = Avx2.Shuffle(Vector256.Create(bits).AsByte(), Vector256.Create(
            (byte)0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3));
        var select = Vector256.Create(0x8040201008040201UL).AsByte();
        var set = Avx2.CompareEqual(Avx2.And(spread, select), select);
        return Avx2.And(set, Vector256.Create((byte)16));
    }

    /// <summary>
    /// One Q4_K or Q5_K row times a Q8_K row: f16 d, f16 dmin, 12 bytes of six-bit (scale, min) pairs,
    /// [Q5_K: 32 bytes of fifth bits], 128 bytes of nibbles (each 32 bytes: 32 values low, 32 high).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining | MethodImplOptions.AggressiveOptimization)]
    private static float DotQ45K(byte* row, bool fiveBits, sbyte* xq, float* xd, short* xSums, int superBlocks)
    {
        var bytes = fiveBits ? 176 : 144;
        var mask = Vector256.Create((byte)0x0F);
        var one = Vector256.Create((byte)1);
        var acc = Vector256<float>.Zero;
        var accMin = Vector256<float>.Zero;
        for (var s = 0; s < superBlocks; s++)
        {
            var block = row + ((nint)s * bytes);
            var packedScales = (uint*)(block + 4);
            uint u0 = packedScales[0], u1 = packedScales[1], u2 = packedScales[2];
            // Eight six-bit scales then eight six-bit mins, a byte each: scales and mins 0–3 are the
            // low six bits of bytes 0–3 and 4–7, those of 4–7 take their low four bits from the
            // nibbles of bytes 8–11 and their top two bits from the top of bytes 0–3 and 4–7.
            var unpacked = Vector128.Create(
                u0 & 0x3F3F3F3F,
                (u2 & 0x0F0F0F0F) | (((u0 >> 6) & 0x03030303) << 4),
                u1 & 0x3F3F3F3F,
                ((u2 >> 4) & 0x0F0F0F0F) | (((u1 >> 6) & 0x03030303) << 4)).AsByte();
            // Each scale and min serves 32 values, two groups of 16: doubled, as the unpacked form holds them.
            var wide = Avx2.ConvertToVector256Int16(Sse2.UnpackLow(unpacked, unpacked));
            var first = Avx2.Permute2x128(wide, wide, 0x00).AsByte();
            var second = Avx2.Permute2x128(wide, wide, 0x11).AsByte();
            var nibbles = block + (fiveBits ? 48 : 16);
            var high = fiveBits ? Avx.LoadVector256(block + 16).AsUInt16() : default;
            var xBase = xq + ((nint)s * KQuants.SuperBlockSize);
            var isum = Vector256<int>.Zero;
            for (var chunk = 0; chunk < 4; chunk++)
            {
                var packed = Avx.LoadVector256(nibbles + (chunk * 32));
                var low = Avx2.And(packed, mask);
                var top = Avx2.And(Avx2.ShiftRightLogical(packed.AsUInt16(), 4).AsByte(), mask);
                if (fiveBits)
                {
                    low = Avx2.Or(low, Vector256.ShiftLeft(Avx2.And(Vector256.ShiftRightLogical(high, 2 * chunk).AsByte(), one).AsUInt16(), 4).AsByte());
                    top = Avx2.Or(top, Vector256.ShiftLeft(Avx2.And(Vector256.ShiftRightLogical(high, (2 * chunk) + 1).AsByte(), one).AsUInt16(), 4).AsByte());
                }

                var p = 2 * chunk;
                isum = Avx2.Add(isum, UnsignedPairSum(low, Avx.LoadVector256(xBase + (p * 32)), Avx2.Shuffle(p < 4 ? first : second, CpuQuantMatMul.ScaleShuffle(p % 4)).AsInt16()));
                isum = Avx2.Add(isum, UnsignedPairSum(top, Avx.LoadVector256(xBase + ((p + 1) * 32)), Avx2.Shuffle(p + 1 < 4 ? first : second, CpuQuantMatMul.ScaleShuffle((p + 1) % 4)).AsInt16()));
            }

            var d = HalfTable.ToSingle(*(ushort*)block);
            var dmin = HalfTable.ToSingle(*(ushort*)(block + 2));
            acc = Fma.MultiplyAdd(Avx.ConvertToVector256Single(isum), Vector256.Create(d * xd[s]), acc);
            var mins = Avx2.ConvertToVector256Int16(Sse2.UnpackHigh(unpacked, unpacked));
            var m = Avx2.MultiplyAddAdjacent(mins, Avx.LoadVector256(xSums + (s * KQuants.GroupsPerSuperBlock)));
            accMin = Fma.MultiplyAdd(Avx.ConvertToVector256Single(m), Vector256.Create(dmin * xd[s]), accMin);
        }

        return Vector256.Sum(acc) - Vector256.Sum(accMin);
    }

    /// <summary>
    /// One Q6_K row times a Q8_K row: 128 bytes of low nibbles, 64 bytes of high bit pairs, 16 int8
    /// scales, f16 d; each half of 128 values reads 64 low-nibble bytes and 32 high bytes, quant − 32.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining | MethodImplOptions.AggressiveOptimization)]
    private static float DotQ6K(byte* row, sbyte* xq, float* xd, int superBlocks)
    {
        const int bytes = 210;
        var mask = Vector256.Create((byte)0x0F);
        var three = Vector256.Create((byte)3);
        var bias = Vector256.Create((sbyte)32);
        var acc = Vector256<float>.Zero;
        for (var s = 0; s < superBlocks; s++)
        {
            var block = row + ((nint)s * bytes);
            var wide = Avx2.ConvertToVector256Int16(Sse2.LoadVector128((sbyte*)(block + 192)));
            var first = Avx2.Permute2x128(wide, wide, 0x00).AsByte();
            var second = Avx2.Permute2x128(wide, wide, 0x11).AsByte();
            var xBase = xq + ((nint)s * KQuants.SuperBlockSize);
            var isum = Vector256<int>.Zero;
            for (var half = 0; half < 2; half++)
            {
                var l0 = Avx.LoadVector256(block + (half * 64));
                var l1 = Avx.LoadVector256(block + (half * 64) + 32);
                var h = Avx.LoadVector256(block + 128 + (half * 32)).AsUInt16();
                var scales = half == 0 ? first : second;
                var xHalf = xBase + (half * 128);
                isum = Avx2.Add(isum, PairSum(Avx2.Subtract(Avx2.Or(Avx2.And(l0, mask), Top(h, 0, three)).AsSByte(), bias), Avx.LoadVector256(xHalf), Avx2.Shuffle(scales, CpuQuantMatMul.ScaleShuffle(0)).AsInt16()));
                isum = Avx2.Add(isum, PairSum(Avx2.Subtract(Avx2.Or(Avx2.And(l1, mask), Top(h, 2, three)).AsSByte(), bias), Avx.LoadVector256(xHalf + 32), Avx2.Shuffle(scales, CpuQuantMatMul.ScaleShuffle(1)).AsInt16()));
                isum = Avx2.Add(isum, PairSum(Avx2.Subtract(Avx2.Or(HighNibble(l0, mask), Top(h, 4, three)).AsSByte(), bias), Avx.LoadVector256(xHalf + 64), Avx2.Shuffle(scales, CpuQuantMatMul.ScaleShuffle(2)).AsInt16()));
                isum = Avx2.Add(isum, PairSum(Avx2.Subtract(Avx2.Or(HighNibble(l1, mask), Top(h, 6, three)).AsSByte(), bias), Avx.LoadVector256(xHalf + 96), Avx2.Shuffle(scales, CpuQuantMatMul.ScaleShuffle(3)).AsInt16()));
            }

            acc = Fma.MultiplyAdd(Avx.ConvertToVector256Single(isum), Vector256.Create(HalfTable.ToSingle(*(ushort*)(block + 208)) * xd[s]), acc);
        }

        // Q6_K has no mins (the unpack path subtracts an all-zero sum, which changes no bit).
        return Vector256.Sum(acc);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector256<byte> Top(Vector256<ushort> h, int shift, Vector256<byte> three) =>
        Vector256.ShiftLeft(Avx2.And(Vector256.ShiftRightLogical(h, shift).AsByte(), three).AsUInt16(), 4).AsByte();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector256<byte> HighNibble(Vector256<byte> v, Vector256<byte> mask) =>
        Avx2.And(Avx2.ShiftRightLogical(v.AsUInt16(), 4).AsByte(), mask);

    /// <summary>
    /// 32 weights times 32 activations as two groups of 16, each group's int16 pair sums weighted by
    /// its scale: 8 int32 lanes, exactly as <see cref="CpuQuantMatMul"/>'s K-quant dot forms them.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> PairSum(Vector256<sbyte> w, Vector256<sbyte> v, Vector256<short> scale) =>
        Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(Avx2.Sign(w, w).AsByte(), Avx2.Sign(v, w)), scale);

    /// <summary>
    /// <see cref="PairSum"/> for weights in 0–31 (Q4_K, Q5_K): with no negative weight to move onto
    /// the activations, maddubs takes them as they are, and the products (0 where a weight is 0) are
    /// the same integers the sign trick forms.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> UnsignedPairSum(Vector256<byte> w, Vector256<sbyte> v, Vector256<short> scale) =>
        Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(w, v), scale);

    /// <summary>Where a 32-value block type keeps its nibbles, whether it has fifth bits and an offset, and its bias.</summary>
    internal interface IBlockLayout
    {
        /// <summary>log2 of <see cref="Bias"/> (0 when there is none): the VNNI kernels scale the activations' quad sums by it.</summary>
        static abstract byte BiasShift { get; }

        static abstract int NibbleOffset { get; }

        static abstract bool HasFifthBit { get; }

        static abstract bool HasOffset { get; }

        static abstract sbyte Bias { get; }

        /// <summary>Whether the quants are whole signed bytes (Q8_0) rather than nibbles.</summary>
        static abstract bool HasByteQuants { get; }
    }

    /// <summary>The Q4_0 block layout.</summary>
    internal struct Q4_0 : IBlockLayout
    {
        public static byte BiasShift => 3;

        public static int NibbleOffset => 2;

        public static bool HasFifthBit => false;

        public static bool HasOffset => false;

        public static sbyte Bias => 8;

        public static bool HasByteQuants => false;
    }

    /// <summary>The Q4_1 block layout.</summary>
    internal struct Q4_1 : IBlockLayout
    {
        public static byte BiasShift => 0;

        public static int NibbleOffset => 4;

        public static bool HasFifthBit => false;

        public static bool HasOffset => true;

        public static sbyte Bias => 0;

        public static bool HasByteQuants => false;
    }

    /// <summary>The Q5_0 block layout.</summary>
    internal struct Q5_0 : IBlockLayout
    {
        public static byte BiasShift => 4;

        public static int NibbleOffset => 6;

        public static bool HasFifthBit => true;

        public static bool HasOffset => false;

        public static sbyte Bias => 16;

        public static bool HasByteQuants => false;
    }

    /// <summary>The Q5_1 block layout.</summary>
    internal struct Q5_1 : IBlockLayout
    {
        public static byte BiasShift => 0;

        public static int NibbleOffset => 8;

        public static bool HasFifthBit => true;

        public static bool HasOffset => true;

        public static sbyte Bias => 0;

        public static bool HasByteQuants => false;
    }

    /// <summary>
    /// The Q8_0 block layout: f16 d, then 32 signed bytes. Its stored values (<see cref="CpuBlockSums.Values{T}"/>)
    /// are the quants read as unsigned, q ^ 0x80 = q + 128: a bias of 128, which as an sbyte wraps to −128
    /// (subtracting it is adding 128 mod 256, the same as flipping the top bit back).
    /// </summary>
    internal struct Q8_0 : IBlockLayout
    {
        public static byte BiasShift => 7;

        public static int NibbleOffset => 2;

        public static bool HasFifthBit => false;

        public static bool HasOffset => false;

        public static sbyte Bias => sbyte.MinValue;

        public static bool HasByteQuants => true;
    }
}
