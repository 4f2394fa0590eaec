using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Mesh.Inference.Models;
using Mesh.Inference.Models.Gguf;
using static Mesh.Inference.Backends.Cpu.CpuFusedQuantDot;

namespace Mesh.Inference.Backends.Cpu;

/// <summary>
/// The decode (one activation row) int8 dot products of <see cref="CpuFusedQuantDot"/> through
/// AVX-VNNI: vpdpbusd sums four unsigned-by-signed byte products straight into an int32 lane, where
/// the AVX2 kernels need maddubs then madd (and, for signed weights, two sign instructions). Weight
/// quants stored with a bias (Q4_0: q − 8, Q5_0: q − 16, Q6_K: q − 32; Q8_0 read as unsigned: q + 128)
/// go in unsigned, and the bias times the activations' sums corrects them: for the 32-value block
/// types the bias times the block's sum (<see cref="CpuActivations.Q8BlockSumsNegated"/>), added to
/// each block's integer once the eight rows' lanes are reduced (<see cref="CpuBlockSums"/>); for Q6_K
/// the bias times each four-value sum (<see cref="CpuActivations.Q8KQuadSumsNegated"/>), the lane's
/// starting value. Every integer is therefore the same one the AVX2 kernel forms (vpdpbusd and
/// vpdpwssd do not saturate, and no AVX2 sum here saturates either), and every float step is
/// unchanged, so the results are bit-identical to <see cref="CpuFusedQuantDot"/>, to the unpack path
/// and to the batch.
/// </summary>
internal static unsafe class CpuVnniQuantDot
{
    /// <summary>
    /// How many rows ahead of a K-quant row its weights are prefetched. Rows are short (432–630 bytes
    /// for 768 values), too short a stream for the hardware prefetcher to get ahead (perf put the
    /// kernels' time on their weight loads); the rows follow each other in memory.
    /// </summary>
    private const int PrefetchRows = 4;

    /// <summary>Whether this CPU has AVX-VNNI (with the AVX2/FMA the rest of each kernel uses).</summary>
    public static bool IsSupported => AvxVnni.IsSupported && Avx2.IsSupported && Fma.IsSupported;

    /// <summary>
    /// Output columns [rowStart, rowEnd) of y (row stride <paramref name="yStride"/>) for every
    /// activation row (Q8_0) of <paramref name="x"/>: the 32-value block type rows of <paramref name="w"/>,
    /// eight rows per pass with one integer per row and block (<see cref="CpuBlockSums"/>).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void BlockRows(WeightMatrix w, CpuActivations x, float* y, int yStride, int rowStart, int rowEnd)
    {
        CpuBlockSums.MultiplyRows<CpuBlockSums.VnniQuads>(w, x, y, yStride, rowStart, rowEnd);
    }

    /// <summary>y[r] for r in [rowStart, rowEnd): the K-quant rows of <paramref name="w"/> times activation row 0 (Q8_K).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void KRows(WeightMatrix w, CpuActivations x, float* y, int rowStart, int rowEnd)
    {
        var superBlocks = w.Cols / KQuants.SuperBlockSize;
        var rowBytes = (nint)w.RowBytes;
        var row = w.Row(rowStart) - rowBytes; // stepped by RowBytes, one add a row
        for (var r = rowStart; r < rowEnd; r++)
        {
            // One row at a time: prefetch the row PrefetchRows ahead, a line per 64 bytes, before this one.
            row += rowBytes;
            var ahead = row + (PrefetchRows * rowBytes);
            for (nint at = 0; at < rowBytes; at += 64)
            {
                Sse.Prefetch0(ahead + at);
            }

            y[r] = w.Type switch
            {
                GgmlType.Q4_K => DotQ45K(row, fiveBits: false, x.Q8K, x.Q8KScales, x.Q8KSums, superBlocks),
                GgmlType.Q5_K => DotQ45K(row, fiveBits: true, x.Q8K, x.Q8KScales, x.Q8KSums, superBlocks),
                GgmlType.Q6_K => DotQ6K(row, x.Q8K, x.Q8KScales, x.Q8KQuadSumsNegated, superBlocks),
                _ => throw new NotSupportedException($"no VNNI kernel for {w.Type}"),
            };
        }
    }

    /// <summary>
    /// One Q4_K or Q5_K row times a Q8_K row, as <see cref="CpuFusedQuantDot"/> forms it, with each
    /// group's scaling and accumulation fused into one vpdpwssd (madd then add in the AVX2 kernel).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining | MethodImplOptions.AggressiveOptimization)]
    private static float DotQ45K(byte* row, bool fiveBits, sbyte* xq, float* xd, short* xSums, int superBlocks)
    {
        var bytes = fiveBits ? 176 : 144;
        var acc = Vector256<float>.Zero;
        var accMin = Vector256<float>.Zero;
        for (var s = 0; s < superBlocks; s++)
        {
            var block = row + ((nint)s * bytes);
            var unpacked = UnpackScalesAndMins(block);
            var wide = Avx2.ConvertToVector256Int16(Sse2.UnpackLow(unpacked, unpacked));
            var first = Avx2.Permute2x128(wide, wide, 0x00).AsByte();
            var second = Avx2.Permute2x128(wide, wide, 0x11).AsByte();
            var nibbles = block + (fiveBits ? 48 : 16);
            var high = fiveBits ? Avx.LoadVector256(block + 16).AsUInt16() : default;
            var xBase = xq + ((nint)s * KQuants.SuperBlockSize);
            // Written out chunk by chunk so every scale shuffle is a constant (as a loop over chunks
            // the JIT built each shuffle control at run time), and in two chains, the low and the
            // high nibbles, so vpdpwssd's latency is not paid eight times in a row. Integer sums in
            // another order are the same integers.
            var c0 = Avx.LoadVector256(nibbles);
            var c1 = Avx.LoadVector256(nibbles + 32);
            var c2 = Avx.LoadVector256(nibbles + 64);
            var c3 = Avx.LoadVector256(nibbles + 96);
            var isumLow = ScaledPairs(default, LowQuants(c0, high, 0, fiveBits), xBase, Avx2.Shuffle(first, CpuQuantMatMul.ScaleShuffle(0)));
            var isumTop = ScaledPairs(default, HighQuants(c0, high, 1, fiveBits), xBase + 32, Avx2.Shuffle(first, CpuQuantMatMul.ScaleShuffle(1)));
            isumLow = ScaledPairs(isumLow, LowQuants(c1, high, 2, fiveBits), xBase + 64, Avx2.Shuffle(first, CpuQuantMatMul.ScaleShuffle(2)));
            isumTop = ScaledPairs(isumTop, HighQuants(c1, high, 3, fiveBits), xBase + 96, Avx2.Shuffle(first, CpuQuantMatMul.ScaleShuffle(3)));
            isumLow = ScaledPairs(isumLow, LowQuants(c2, high, 4, fiveBits), xBase + 128, Avx2.Shuffle(second, CpuQuantMatMul.ScaleShuffle(0)));
            isumTop = ScaledPairs(isumTop, HighQuants(c2, high, 5, fiveBits), xBase + 160, Avx2.Shuffle(second, CpuQuantMatMul.ScaleShuffle(1)));
            isumLow = ScaledPairs(isumLow, LowQuants(c3, high, 6, fiveBits), xBase + 192, Avx2.Shuffle(second, CpuQuantMatMul.ScaleShuffle(2)));
            isumTop = ScaledPairs(isumTop, HighQuants(c3, high, 7, fiveBits), xBase + 224, Avx2.Shuffle(second, CpuQuantMatMul.ScaleShuffle(3)));
            var isum = Avx2.Add(isumLow, isumTop);

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
    /// The eight six-bit scales then the eight six-bit mins of a Q4_K/Q5_K super-block, a byte each,
    /// from its 12 packed bytes (at +4), as <see cref="CpuFusedQuantDot"/> unpacks them with scalar
    /// shifts and masks (u0–u2 the three packed words): scales and mins 0–3 are the low six bits of
    /// u0 and u1, 4–7 take their low four bits from the nibbles of u2 and their top two from the top
    /// of u0 and u1 — here for the four words at once in six vector operations.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<byte> UnpackScalesAndMins(byte* block)
    {
        // 16 bytes from +4 stay inside the 144/176-byte block; the word after u2 is not used.
        var packed = Sse2.LoadVector128((uint*)(block + 4));
        var lowBits = Avx2.ShiftRightLogicalVariable(Sse2.Shuffle(packed, 0b10_01_10_00), Vector128.Create(0u, 0, 0, 4)); // u0, u2, u1, u2 >> 4
        var topBits = Sse2.ShiftRightLogical(Sse2.Shuffle(packed, 0b01_01_00_00), 2); // (u0, u0, u1, u1) >> 2: bits 6–7 of each byte at 4–5
        return Sse2.Or(
            Sse2.And(lowBits, Vector128.Create(0x3F3F3F3Fu, 0x0F0F0F0F, 0x3F3F3F3F, 0x0F0F0F0F)),
            Sse2.And(topBits, Vector128.Create(0u, 0x30303030, 0, 0x30303030))).AsByte();
    }

    /// <summary>isum + the scale-weighted pair sums of 32 weights in 0–31 (no sign trick: pairs ≤ 2·31·127) and 32 activations.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> ScaledPairs(Vector256<int> isum, Vector256<byte> w, sbyte* x, Vector256<byte> scale) =>
        AvxVnni.MultiplyWideningAndAdd(isum, Avx2.MultiplyAddAdjacent(w, Avx.LoadVector256(x)), scale.AsInt16());

    /// <summary>The low nibbles of 32 bytes, with fifth bit <paramref name="bit"/> of <paramref name="high"/> as 16 for Q5_K.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<byte> LowQuants(Vector256<byte> packed, Vector256<ushort> high, int bit, bool fiveBits)
    {
        var q = Avx2.And(packed, Vector256.Create((byte)0x0F));
        return fiveBits ? Avx2.Or(q, Top(high, bit, Vector256.Create((byte)1))) : q;
    }

    /// <summary>The high nibbles of 32 bytes, with fifth bit <paramref name="bit"/> of <paramref name="high"/> as 16 for Q5_K.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<byte> HighQuants(Vector256<byte> packed, Vector256<ushort> high, int bit, bool fiveBits)
    {
        var q = HighNibble(packed, Vector256.Create((byte)0x0F));
        return fiveBits ? Avx2.Or(q, Top(high, bit, Vector256.Create((byte)1))) : q;
    }

    /// <summary>
    /// One Q6_K row times a Q8_K row: the unsigned six-bit quants go into vpdpbusd with −32 × the
    /// activations' four-value sums as the starting lanes, which gives the AVX2 kernel's
    /// Σ(q − 32)·x per four values; each such sum (|·| ≤ 4·32·127, so it fits the low int16 of its
    /// lane) is then scaled and accumulated by one vpdpwssd against the group scale in the low int16
    /// and 0 in the high, the same integer madd(pairs, scale) forms.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining | MethodImplOptions.AggressiveOptimization)]
    private static float DotQ6K(byte* row, sbyte* xq, float* xd, int* xQuadSumsNegated, int superBlocks)
    {
        const int bytes = 210;
        var mask = Vector256.Create((byte)0x0F);
        var three = Vector256.Create((byte)3);
        var acc = Vector256<float>.Zero;
        for (var s = 0; s < superBlocks; s++)
        {
            var block = row + ((nint)s * bytes);
            var wide = Avx2.ConvertToVector256Int16(Sse2.LoadVector128((sbyte*)(block + 192)));
            var first = Avx2.Permute2x128(wide, wide, 0x00).AsByte();
            var second = Avx2.Permute2x128(wide, wide, 0x11).AsByte();
            var xBase = xq + ((nint)s * KQuants.SuperBlockSize);
            var nBase = xQuadSumsNegated + ((nint)s * (KQuants.SuperBlockSize / 4));
            // Four chains, one per 32-value quarter of a half, for vpdpwssd's latency (see DotQ45K).
            Vector256<int> i0 = default, i1 = default, i2 = default, i3 = default;
            for (var half = 0; half < 2; half++)
            {
                var l0 = Avx.LoadVector256(block + (half * 64));
                var l1 = Avx.LoadVector256(block + (half * 64) + 32);
                var h = Avx.LoadVector256(block + 128 + (half * 32)).AsUInt16();
                var scales = half == 0 ? first : second;
                var xHalf = xBase + (half * 128);
                var nHalf = nBase + (half * 32);
                i0 = ScaledQuads(i0, Avx2.Or(Avx2.And(l0, mask), Top(h, 0, three)), Avx.LoadVector256(xHalf), nHalf, Avx2.Shuffle(scales, LowScaleShuffle(0)).AsInt16());
                i1 = ScaledQuads(i1, Avx2.Or(Avx2.And(l1, mask), Top(h, 2, three)), Avx.LoadVector256(xHalf + 32), nHalf + 8, Avx2.Shuffle(scales, LowScaleShuffle(1)).AsInt16());
                i2 = ScaledQuads(i2, Avx2.Or(HighNibble(l0, mask), Top(h, 4, three)), Avx.LoadVector256(xHalf + 64), nHalf + 16, Avx2.Shuffle(scales, LowScaleShuffle(2)).AsInt16());
                i3 = ScaledQuads(i3, Avx2.Or(HighNibble(l1, mask), Top(h, 6, three)), Avx.LoadVector256(xHalf + 96), nHalf + 24, Avx2.Shuffle(scales, LowScaleShuffle(3)).AsInt16());
            }

            var isum = Avx2.Add(Avx2.Add(i0, i1), Avx2.Add(i2, i3));
            acc = Fma.MultiplyAdd(Avx.ConvertToVector256Single(isum), Vector256.Create(HalfTable.ToSingle(*(ushort*)(block + 208)) * xd[s]), acc);
        }

        return Vector256.Sum(acc);
    }

    /// <summary>isum + scale × Σ(q − 32)·x per four values, for 32 unsigned six-bit quants q.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> ScaledQuads(Vector256<int> isum, Vector256<byte> q, Vector256<sbyte> v, int* quadSumsNegated, Vector256<short> lowScale)
    {
        var quads = AvxVnni.MultiplyWideningAndAdd(Avx2.ShiftLeftLogical(Avx.LoadVector256(quadSumsNegated), 5), q, v);
        return AvxVnni.MultiplyWideningAndAdd(isum, quads.AsInt16(), lowScale);
    }

    /// <summary>
    /// <see cref="CpuQuantMatMul.ScaleShuffle"/> with the high int16 of every int32 lane zeroed
    /// (shuffle index 0x80), so vpdpwssd multiplies an int32 lane's low half by the scale and its
    /// high half (the sign extension) by 0.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<byte> LowScaleShuffle(int k)
    {
        var low = (uint)((4 * k) | (((4 * k) + 1) << 8) | 0x80800000);
        var high = (uint)(((4 * k) + 2) | (((4 * k) + 3) << 8) | 0x80800000);
        return Vector256.Create(Vector128.Create(low), Vector128.Create(high)).AsByte();
    }
}
