using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Mesh.Inference.Models;
using Mesh.Inference.Models.Gguf;

namespace Mesh.Inference.Backends.Cpu;

/// <summary>
/// y = x · Wᵀ for the K-quants (Q2_K–Q6_K) when a step carries two or more activation rows (prefill,
/// batched decode, speculative verification): register tiles of 4 weight rows × 4 activation rows,
/// the int8 form of <see cref="CpuF32MatMul"/>'s tiles and of llamafile's tinyBLAS. Four weight rows are
/// unpacked once into a panel in the thread's scratch, laid out in the order the tile reads it (Q4_K
/// and Q5_K decoded straight into it, the other types through <see cref="KQuants.Unpack"/>); each
/// 32-value chunk of every activation row is then loaded once per four weight rows
/// and each weight chunk once per four activation rows, where <see cref="CpuQuantMatMul"/>'s
/// one-row-at-a-time dot products reload both for every (row, token) pair.
/// <para>
/// Per (row, token), 64 values (two 32-value chunks) per step on 512 bits, where .NET has no
/// 512-bit VNNI: maddubs forms the int16 pair sums of an unsigned and a signed operand (Q2_K, Q4_K,
/// Q5_K: the quants, ≤ 31, times the activations; Q3_K, Q6_K: the activations read as x + 128 times
/// the signed quants, |q| ≤ 32; at most 2·255·32, never saturated), madd against the group scale held
/// in both int16 halves adds scale × each four-value sum, and at the end of the super-block the odd
/// chunks' eight lanes are added to the even chunks', with the signed types' surplus
/// −128·Σ scale·Σq_w per lane (fixed per weight row, formed once when the panel is filled) taken
/// off. Those lanes are the very integers <see cref="CpuQuantMatMul"/>'s AVX2 kernel forms
/// (maddubs then madd per chunk: integer sums in another grouping are the same integers), and every
/// float step after them (the lanes converted, one FMA per super-block with d_w·d_x rounded first,
/// the min term likewise, <see cref="Vector256.Sum{T}(Vector256{T})"/>'s pairing at the end, done for
/// the tile's sixteen outputs at once) is the same operation in the same order, so every output is
/// bit-identical to the single-row path, to decode and to every thread split.
/// </para>
/// </summary>
internal static unsafe class CpuKQuantTiles
{
    private const int Chunk = 32;
    private const int ChunksPerSuperBlock = KQuants.SuperBlockSize / Chunk;
    private const int TileRows = 4;

    /// <summary>
    /// Whether this CPU runs the tiles: AVX-512BW for the int8 products, AVX-VNNI for the panel's
    /// four-value sums, and AVX-512's 32 vector registers, which the 16 int32 tile accumulators and
    /// their operands need (with AVX2's 16 the JIT would spill every step).
    /// </summary>
    public static bool IsSupported => AvxVnni.IsSupported && Avx2.IsSupported && Fma.IsSupported && Avx512F.VL.IsSupported && Avx512BW.IsSupported;

    /// <summary>Floats of scratch a thread needs for the four-row panel of a <paramref name="cols"/>-wide matrix (and room to align it to 64 bytes).</summary>
    public static int ScratchFloats(int cols) => (PanelBytes(cols / KQuants.SuperBlockSize) / sizeof(float)) + 17;

    /// <summary>
    /// Output columns [<paramref name="rowStart"/>, <paramref name="rowEnd"/>) of <paramref name="y"/>
    /// (row stride <paramref name="yStride"/>) for every activation row of <paramref name="x"/> (Q8_K,
    /// quantized by the caller). <paramref name="scratch"/> holds ≥ <see cref="ScratchFloats"/>(Cols).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Rows(WeightMatrix w, CpuActivations x, float* y, int yStride, int rowStart, int rowEnd, Span<float> scratch)
    {
        switch (w.Type)
        {
            case GgmlType.Q2_K:
            case GgmlType.Q4_K:
            case GgmlType.Q5_K:
                Rows<UnsignedWithMins>(w, x, y, yStride, rowStart, rowEnd, scratch);
                break;
            case GgmlType.Q3_K:
                Rows<Signed3K>(w, x, y, yStride, rowStart, rowEnd, scratch);
                break;
            case GgmlType.Q6_K:
                Rows<Signed6K>(w, x, y, yStride, rowStart, rowEnd, scratch);
                break;
            default:
                throw new NotSupportedException($"no K-quant tile for {w.Type}");
        }
    }

    /// <summary>Panel bytes for four rows of <paramref name="superBlocks"/> super-blocks each, and one super-block's unpacking room.</summary>
    private static int PanelBytes(int superBlocks) => (TileRows * superBlocks * RowPanelBytesPerSuperBlock) + KQuants.SuperBlockSize + 64;

    /// <summary>Per row and super-block: 256 quants, 8 × 8 int32 scale lanes, 16 int16 mins twice, d and dmin, and 8 int32 correction lanes twice.</summary>
    private const int RowPanelBytesPerSuperBlock = KQuants.SuperBlockSize + (ChunksPerSuperBlock * 32) + 64 + 8 + 64;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Rows<T>(WeightMatrix w, CpuActivations x, float* y, int yStride, int rowStart, int rowEnd, Span<float> scratch)
        where T : struct, IKLayout
    {
        var superBlocks = w.Cols / KQuants.SuperBlockSize;
        var n = x.Rows;
        fixed (float* room = scratch)
        {
            var panel = new Panel((byte*)room, superBlocks);
            for (var r = rowStart; r < rowEnd; r += TileRows)
            {
                // A short last group repeats its last row; those outputs are computed and dropped.
                var rows = Math.Min(TileRows, rowEnd - r);
                for (var i = 0; i < TileRows; i++)
                {
                    panel.Fill<T>(i, w, r + Math.Min(i, rows - 1));
                }

                // The next four rows are read only when this group's tiles are done, long after the
                // hardware prefetcher has stopped following this group's: ask for them now, so that
                // the next fill finds them in cache instead of waiting on memory.
                if (r + TileRows < rowEnd)
                {
                    var next = w.Row(r + TileRows);
                    var bytes = w.RowBytes * Math.Min(TileRows, rowEnd - r - TileRows);
                    for (long b = 0; b < bytes; b += 64)
                    {
                        Sse.Prefetch0(next + b);
                    }
                }

                var t = 0;
                for (; t + 4 <= n; t += 4)
                {
                    Tile<T, Four>(panel, x, t, y + r + ((nint)t * yStride), yStride, rows);
                }

                if (t + 2 <= n)
                {
                    Tile<T, Two>(panel, x, t, y + r + ((nint)t * yStride), yStride, rows);
                    t += 2;
                }

                for (; t < n; t++)
                {
                    Tile<T, One>(panel, x, t, y + r + ((nint)t * yStride), yStride, rows);
                }
            }
        }
    }

    /// <summary>
    /// Four panel rows × activation rows t … t + <typeparamref name="TTokens"/> − 1 (four, or one for
    /// the tokens left over): y[token · yStride + row] for row &lt; <paramref name="rows"/>. The int32
    /// super-block sums live in registers; the float accumulators (and min accumulators) in a stack
    /// buffer, touched once per 256 values.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    [SkipLocalsInit] // the accumulators are zeroed below, once
    private static void Tile<T, TTokens>(in Panel panel, CpuActivations x, int t, float* y, int yStride, int rows)
        where T : struct, IKLayout
        where TTokens : struct, IStaticCount
    {
        // The panel's fields in locals: through the reference the JIT reloads them after every store.
        var superBlocks = panel.SuperBlocks;
        var quants = panel.Quants;
        var scaleLanes = panel.ScaleLanes;
        var cols = superBlocks * KQuants.SuperBlockSize;
        // Per row r, tokens 0–1 at [2r] and 2–3 at [2r + 1], one token in each 8-lane half.
        var acc = stackalloc Vector512<float>[8];
        var accMin = stackalloc Vector512<float>[8];
        for (var i = 0; i < 8; i++)
        {
            acc[i] = Vector512<float>.Zero;
            accMin[i] = Vector512<float>.Zero;
        }

        // Tokens past the tile's count are never read: one token may be the batch's last row.
        var second = TTokens.Count > 1;
        var four = TTokens.Count > 2;
        var xa = x.Q8K + ((nint)t * cols);
        var xb = second ? xa + cols : xa;
        var xc = four ? xa + (2 * cols) : xa;
        var xe = four ? xa + (3 * cols) : xa;
        var xd = x.Q8KScales + ((nint)t * superBlocks);
        var xSums = x.Q8KSums + ((nint)t * superBlocks * KQuants.GroupsPerSuperBlock);
        var step = (nint)superBlocks * KQuants.GroupsPerSuperBlock;
        for (var s = 0; s < superBlocks; s++)
        {
            // The four rows' chunk pairs side by side (see Panel), quants and scale lanes alike.
            var q = quants + ((nint)s * SuperBlockPanelBytes);
            var sc = scaleLanes + ((nint)s * SuperBlockPanelBytes);
            var end = q + SuperBlockPanelBytes;
            // 64 values (two chunks) per pair in one 512-bit maddubs and one madd with the group
            // scales; lanes 0–7 sum the even chunks, 8–15 the odd.
            Vector512<int> z00 = default, z01 = default, z02 = default, z03 = default;
            Vector512<int> z10 = default, z11 = default, z12 = default, z13 = default;
            Vector512<int> z20 = default, z21 = default, z22 = default, z23 = default;
            Vector512<int> z30 = default, z31 = default, z32 = default, z33 = default;
            var o = (nint)s * KQuants.SuperBlockSize;
            for (; q < end; q += TileRows * 2 * Chunk, sc += TileRows * 2 * Chunk, o += 2 * Chunk)
            {
                var v0 = Activations<T>(xa + o);
                var v1 = second ? Activations<T>(xb + o) : default;
                var v2 = four ? Activations<T>(xc + o) : default;
                var v3 = four ? Activations<T>(xe + o) : default;

                var w = Avx512F.LoadVector512(q);
                var l = Avx512F.LoadVector512(sc).AsInt16();
                z00 = Scaled512<T>(z00, w, v0, l);
                if (TTokens.Count > 1)
                {
                    z01 = Scaled512<T>(z01, w, v1, l);
                }

                if (TTokens.Count > 2)
                {
                    z02 = Scaled512<T>(z02, w, v2, l);
                    z03 = Scaled512<T>(z03, w, v3, l);
                }

                w = Avx512F.LoadVector512(q + (2 * Chunk));
                l = Avx512F.LoadVector512(sc + (2 * Chunk)).AsInt16();
                z10 = Scaled512<T>(z10, w, v0, l);
                if (TTokens.Count > 1)
                {
                    z11 = Scaled512<T>(z11, w, v1, l);
                }

                if (TTokens.Count > 2)
                {
                    z12 = Scaled512<T>(z12, w, v2, l);
                    z13 = Scaled512<T>(z13, w, v3, l);
                }

                w = Avx512F.LoadVector512(q + (4 * Chunk));
                l = Avx512F.LoadVector512(sc + (4 * Chunk)).AsInt16();
                z20 = Scaled512<T>(z20, w, v0, l);
                if (TTokens.Count > 1)
                {
                    z21 = Scaled512<T>(z21, w, v1, l);
                }

                if (TTokens.Count > 2)
                {
                    z22 = Scaled512<T>(z22, w, v2, l);
                    z23 = Scaled512<T>(z23, w, v3, l);
                }

                w = Avx512F.LoadVector512(q + (6 * Chunk));
                l = Avx512F.LoadVector512(sc + (6 * Chunk)).AsInt16();
                z30 = Scaled512<T>(z30, w, v0, l);
                if (TTokens.Count > 1)
                {
                    z31 = Scaled512<T>(z31, w, v1, l);
                }

                if (TTokens.Count > 2)
                {
                    z32 = Scaled512<T>(z32, w, v2, l);
                    z33 = Scaled512<T>(z33, w, v3, l);
                }
            }

            // d_x of tokens 0, 1 (and 2, 3) eight times each, the activations' group sums likewise.
            var s01 = Pair(Vector256.Create(xd[s]), Vector256.Create(second ? xd[superBlocks + s] : 0f));
            var s23 = four ? Pair(Vector256.Create(xd[(2 * superBlocks) + s]), Vector256.Create(xd[(3 * superBlocks) + s])) : default;
            var sums = xSums + ((nint)s * KQuants.GroupsPerSuperBlock);
            var x01 = T.HasMins ? Pair(Avx.LoadVector256(sums), second ? Avx.LoadVector256(sums + step) : default) : default;
            var x23 = T.HasMins && four ? Pair(Avx.LoadVector256(sums + (2 * step)), Avx.LoadVector256(sums + (3 * step))) : default;
            var at = panel.At(s);
            Finish<T, TTokens>(at, z00, z01, z02, z03, s01, s23, x01, x23, acc, accMin);
            Finish<T, TTokens>(at.Next, z10, z11, z12, z13, s01, s23, x01, x23, acc + 2, accMin + 2);
            Finish<T, TTokens>(at.Next.Next, z20, z21, z22, z23, s01, s23, x01, x23, acc + 4, accMin + 4);
            Finish<T, TTokens>(at.Next.Next.Next, z30, z31, z32, z33, s01, s23, x01, x23, acc + 6, accMin + 6);
        }

        // Every output's Vector256.Sum(acc) − Vector256.Sum(accMin), sixteen at a time: the lanes
        // paired as Sum pairs them, ((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7)), so each
        // output is the one-row kernel's float.
        var (y01, y23) = Reduce(acc);
        if (T.HasMins)
        {
            var (m01, m23) = Reduce(accMin);
            y01 = Avx512F.Subtract(y01, m01);
            y23 = Avx512F.Subtract(y23, m23);
        }
        if (rows == TileRows)
        {
            Sse.Store(y, y01.GetLower().GetLower());
            if (second)
            {
                Sse.Store(y + yStride, y01.GetLower().GetUpper());
            }

            if (four)
            {
                Sse.Store(y + (2 * (nint)yStride), y23.GetLower().GetLower());
                Sse.Store(y + (3 * (nint)yStride), y23.GetLower().GetUpper());
            }

            return;
        }

        for (var token = 0; token < TTokens.Count; token++)
        {
            var v = token < 2 ? y01 : y23;
            for (var row = 0; row < rows; row++)
            {
                y[((nint)token * yStride) + row] = v.GetElement(((token % 2) * 4) + row);
            }
        }
    }

    /// <summary>
    /// [<paramref name="lower"/>, <paramref name="upper"/>] in one vector. Vector512.Create of two
    /// halves compiles to inserts into the register's previous value, which kept four such vectors
    /// alive (spilled) across the super-block loop.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<TValue> Pair<TValue>(Vector256<TValue> lower, Vector256<TValue> upper) =>
        Avx512F.InsertVector256(lower.ToVector512Unsafe().AsDouble(), upper.AsDouble(), 1).As<double, TValue>();

    /// <summary>
    /// Horizontal sums of the tile's eight accumulators (row r, tokens 0–1 at [2r], 2–3 at [2r + 1]):
    /// tokens 0 and 1's four rows in lanes 0–7 of the first result, 2 and 3's in the second's,
    /// each lane ((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7)) of its row and token, the order
    /// <see cref="Vector256.Sum{T}(Vector256{T})"/> adds in (float addition commutes, so which
    /// operand is which does not change a bit).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (Vector512<float>, Vector512<float>) Reduce(Vector512<float>* acc)
    {
        // Per 128-bit quarter (token 0 lanes 0–3, 4–7, token 1 lanes 0–3, 4–7): [r0 p0, r0 p1, r1 p0, r1 p1].
        var p01 = Avx512F.Add(Avx512F.Shuffle(acc[0], acc[2], 0x88), Avx512F.Shuffle(acc[0], acc[2], 0xDD));
        var p23 = Avx512F.Add(Avx512F.Shuffle(acc[4], acc[6], 0x88), Avx512F.Shuffle(acc[4], acc[6], 0xDD));
        // [r0 q, r1 q, r2 q, r3 q] per quarter, q = p0 + p1.
        var q01 = Avx512F.Add(Avx512F.Shuffle(p01, p23, 0x88), Avx512F.Shuffle(p01, p23, 0xDD));
        var first = Avx512F.Add(Avx512F.Shuffle4x128(q01, q01, 0x88), Avx512F.Shuffle4x128(q01, q01, 0xDD));
        var r01 = Avx512F.Add(Avx512F.Shuffle(acc[1], acc[3], 0x88), Avx512F.Shuffle(acc[1], acc[3], 0xDD));
        var r23 = Avx512F.Add(Avx512F.Shuffle(acc[5], acc[7], 0x88), Avx512F.Shuffle(acc[5], acc[7], 0xDD));
        var q23 = Avx512F.Add(Avx512F.Shuffle(r01, r23, 0x88), Avx512F.Shuffle(r01, r23, 0xDD));
        var secondHalf = Avx512F.Add(Avx512F.Shuffle4x128(q23, q23, 0x88), Avx512F.Shuffle4x128(q23, q23, 0xDD));
        return (first, secondHalf);
    }

    /// <summary>
    /// isum + scale × (the four-value sums Σ q_w·q_x of two chunks, 64 values). maddubs multiplies an
    /// unsigned operand by a signed one: the unsigned types' quants (≤ 31) by the activations, the
    /// signed types' quants (|q| ≤ 32) by the activations read as unsigned (x + 128, see
    /// <see cref="Activations{T}"/>); either way the int16 pair sums stay within 2·255·32 and never
    /// saturate. madd against the scale held in both int16 halves of each lane then adds scale × each
    /// pair of pairs; the signed types' 128·Σq_w surplus is taken off once per super-block
    /// (the correction lanes of <see cref="Finish{T, TTokens}"/>).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<int> Scaled512<T>(Vector512<int> isum, Vector512<byte> w, Vector512<byte> v, Vector512<short> scaleLanes)
        where T : struct, IKLayout =>
        Avx512F.Add(isum, Avx512BW.MultiplyAddAdjacent(T.Signed ? Avx512BW.MultiplyAddAdjacent(v, w.AsSByte()) : Avx512BW.MultiplyAddAdjacent(w, v.AsSByte()), scaleLanes));

    /// <summary>64 activation quants: as stored (int8) for the unsigned types, as x + 128 (unsigned) for the signed.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<byte> Activations<T>(sbyte* x)
        where T : struct, IKLayout =>
        T.Signed ? Avx512F.Xor(Avx512F.LoadVector512((byte*)x), Vector512.Create((byte)0x80)) : Avx512F.LoadVector512((byte*)x);

    /// <summary>
    /// Two tokens' super-block sums in one vector: token a's even chunks' eight lanes plus its odd
    /// chunks' in the lower half, token b's in the upper, plus the correction in each: the one-row
    /// kernels' int32 lanes (integers summed in another grouping, the same integers).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<int> Fold<T>(Vector512<int> a, Vector512<int> b, Vector512<int> correction)
        where T : struct, IKLayout
    {
        var sum = Avx512F.Add(Avx512F.Shuffle4x128(a, b, 0x44), Avx512F.Shuffle4x128(a, b, 0xEE));
        return T.Signed ? Avx512F.Add(sum, correction) : sum;
    }

    /// <summary>
    /// The float steps of <see cref="CpuQuantMatMul"/>'s DotK for one weight row of the panel and the
    /// tile's tokens at one super-block (<paramref name="at"/>), two tokens per 512-bit vector: acc +=
    /// cvt(isum) × (d_w · d_x), accMin += cvt(min pairs) × (dmin_w · d_x), each lane's operands and
    /// order those of the one-row kernel. z0–z3 are the tokens' two-chunk sums (<see cref="Scaled512{T}"/>),
    /// s01/s23 d_x of tokens 0, 1 / 2, 3 in the halves, x01/x23 their group sums.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Finish<T, TTokens>(RowBlock at, Vector512<int> z0, Vector512<int> z1, Vector512<int> z2, Vector512<int> z3, Vector512<float> s01, Vector512<float> s23, Vector512<short> x01, Vector512<short> x23, Vector512<float>* acc, Vector512<float>* accMin)
        where T : struct, IKLayout
        where TTokens : struct, IStaticCount
    {
        // The signed types' −128 · Σ scale · Σq_w per lane (what x + 128 adds), twice over.
        var k = T.Signed ? Avx512F.LoadVector512(at.Correction) : default;
        var d = Vector512.Create(*at.D);
        acc[0] = Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(Fold<T>(z0, z1, k)), Avx512F.Multiply(d, s01), acc[0]);
        if (TTokens.Count > 2)
        {
            acc[1] = Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(Fold<T>(z2, z3, k)), Avx512F.Multiply(d, s23), acc[1]);
        }

        if (T.HasMins)
        {
            var mins = Avx512F.LoadVector512(at.Mins);
            var dmin = Vector512.Create(*at.DMin);
            accMin[0] = Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(Avx512BW.MultiplyAddAdjacent(mins, x01)), Avx512F.Multiply(dmin, s01), accMin[0]);
            if (TTokens.Count > 2)
            {
                accMin[1] = Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(Avx512BW.MultiplyAddAdjacent(mins, x23)), Avx512F.Multiply(dmin, s23), accMin[1]);
            }
        }
    }

    /// <summary>One panel row's per-super-block values: d, dmin, its mins (int16, twice) and the signed types' correction lanes (twice).</summary>
    private readonly struct RowBlock(float* d, float* dmin, short* mins, int* correction)
    {
        public readonly float* D = d;
        public readonly float* DMin = dmin;
        public readonly short* Mins = mins;
        public readonly int* Correction = correction;

        /// <summary>The next panel row's, same super-block (they lie side by side).</summary>
        public RowBlock Next => new(D + 1, DMin + 1, Mins + (2 * KQuants.GroupsPerSuperBlock), Correction + 16);
    }

    /// <summary>Panel bytes per super-block of the four rows' quants (and likewise of their scale lanes).</summary>
    private const int SuperBlockPanelBytes = TileRows * KQuants.SuperBlockSize;

    /// <summary>
    /// Four unpacked weight rows in the thread's scratch, 64-byte aligned, laid out in the order the
    /// tile reads them: per super-block and pair of 32-value chunks, the four rows' 64 quants (as
    /// <see cref="KQuants.Unpack"/> gives them) side by side, and the same for their group scales as
    /// sixteen int32 lanes (per chunk, lanes 0–3 the first group of 16, lanes 4–7 the second, the
    /// scale in both int16 halves for madd); then per super-block and row d, dmin, the mins as int16
    /// (for madd with the activations' group sums) and the signed types' correction lanes (see
    /// <see cref="Finish{T, TTokens}"/>), the last two twice over, one copy per token of a pair.
    /// </summary>
    private readonly struct Panel
    {
        public readonly int SuperBlocks;
        public readonly byte* Quants;
        public readonly byte* ScaleLanes;
        private readonly short* _mins;
        private readonly float* _d;
        private readonly float* _dmin;
        private readonly int* _corrections;
        private readonly sbyte* _rowQuants;
        private readonly sbyte* _rowScales;
        private readonly sbyte* _rowMins;

        public Panel(byte* room, int superBlocks)
        {
            SuperBlocks = superBlocks;
            var aligned = (byte*)(((nint)room + 63) & ~(nint)63);
            ScaleLanes = aligned;
            Quants = ScaleLanes + (superBlocks * SuperBlockPanelBytes);
            _corrections = (int*)(Quants + (superBlocks * SuperBlockPanelBytes));
            _mins = (short*)(_corrections + (TileRows * superBlocks * 16));
            _d = (float*)(_mins + (TileRows * superBlocks * 2 * KQuants.GroupsPerSuperBlock));
            _dmin = _d + (TileRows * superBlocks);
            _rowQuants = (sbyte*)(_dmin + (TileRows * superBlocks));
            _rowScales = _rowQuants + KQuants.SuperBlockSize;
            _rowMins = _rowScales + KQuants.GroupsPerSuperBlock;
        }

        /// <summary>Row 0's values at super-block <paramref name="s"/> (<see cref="RowBlock.Next"/> for rows 1–3).</summary>
        public RowBlock At(int s) =>
            new(_d + (s * TileRows), _dmin + (s * TileRows), _mins + (s * TileRows * 2 * KQuants.GroupsPerSuperBlock), _corrections + (s * TileRows * 16));

        /// <summary>Unpacks weight row <paramref name="source"/> of <paramref name="w"/> into panel row <paramref name="row"/>.</summary>
        public void Fill<T>(int row, WeightMatrix w, int source)
            where T : struct, IKLayout
        {
            var src = w.Row(source);
            if (w.Type is GgmlType.Q4_K or GgmlType.Q5_K)
            {
                FillQ45K(row, src, w.Type == GgmlType.Q5_K);
                return;
            }

            var blockBytes = GgmlTypeInfo.BlockBytes(w.Type);
            for (var s = 0; s < SuperBlocks; s++)
            {
                var at = At(s);
                for (var i = 0; i < row; i++)
                {
                    at = at.Next;
                }

                KQuants.Unpack(w.Type, src + ((nint)s * blockBytes), 1, _rowQuants, _rowScales, _rowMins, at.D, at.DMin);
                var q = Quants + ((nint)s * SuperBlockPanelBytes) + (row * 2 * Chunk);
                var lanes = ScaleLanes + ((nint)s * SuperBlockPanelBytes) + (row * 2 * Chunk);
                var sum = Vector512<int>.Zero;
                var ones = Vector512.Create((byte)1);
                for (var c = 0; c < ChunksPerSuperBlock; c += 2)
                {
                    var values = Avx512F.LoadVector512(_rowQuants + (c * Chunk));
                    var offset = c / 2 * TileRows * 2 * Chunk;
                    Avx512F.Store((sbyte*)q + offset, values);
                    // Chunk c holds groups 2c (lanes 0–3) and 2c + 1 (lanes 4–7), chunk c + 1 the
                    // next two, each scale in both int16 halves of a lane for madd.
                    var g = 2 * c;
                    var scales = Vector512.Create(
                        Vector256.Create(Vector128.Create(Lane(_rowScales[g])), Vector128.Create(Lane(_rowScales[g + 1]))),
                        Vector256.Create(Vector128.Create(Lane(_rowScales[g + 2])), Vector128.Create(Lane(_rowScales[g + 3]))));
                    Avx512F.Store((int*)(lanes + offset), scales);
                    if (T.Signed)
                    {
                        // −128 · Σ over the super-block's chunks of scale × the lane's four quants,
                        // formed as the tile forms its sums (maddubs of ones by the quants, madd
                        // with the scale lanes, two chunks per step, the halves added): all of it
                        // exact integers.
                        sum = Avx512F.Add(sum, Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(ones, values), scales.AsInt16()));
                    }
                }

                if (T.Signed)
                {
                    var folded = Avx2.Subtract(Vector256<int>.Zero, Avx2.ShiftLeftLogical(Avx2.Add(sum.GetLower(), sum.GetUpper()), 7));
                    Avx512F.Store(at.Correction, Vector512.Create(folded, folded));
                }

                // The super-block's 16 mins twice over (one copy per token of a 512-bit pair).
                var m = Avx2.ConvertToVector256Int16(Sse2.LoadVector128(_rowMins));
                Avx512F.Store(at.Mins, Vector512.Create(m, m));
            }
        }

        /// <summary>
        /// <see cref="Fill{T}"/> for Q4_K and Q5_K (most of a Q4_K_M file's weights), straight into the
        /// panel: the same integers as <see cref="KQuants.Unpack"/> gives (the 6-bit scales and mins
        /// decoded as it decodes them, the nibbles split as it splits them), where the generic path
        /// unpacks into a room, copies, and builds each scale lane from scalars. Both groups of 16 of a
        /// Q4_K/Q5_K sub-block of 32 share its scale and min, so a chunk's eight lanes all hold one.
        /// </summary>
        private void FillQ45K(int row, byte* src, bool fiveBits)
        {
            const int blockBytes = 144; // Q4_K; Q5_K adds 32 bytes of fifth bits
            var bytes = fiveBits ? blockBytes + 32 : blockBytes;
            var mask = Vector256.Create((byte)0x0F);
            var one = Vector256.Create((byte)1);
            for (var s = 0; s < SuperBlocks; s++)
            {
                var block = src + ((nint)s * bytes);
                var at = At(s);
                for (var i = 0; i < row; i++)
                {
                    at = at.Next;
                }

                *at.D = HalfTable.ToSingle(*(ushort*)block);
                *at.DMin = HalfTable.ToSingle(*(ushort*)(block + 2));
                // The 6-bit scales and mins four at a time, as ggml's get_scale_min_k4 reads them
                // (its kmask arithmetic): scales 0–3 and mins 0–3 are the low six bits of bytes 0–3
                // and 4–7; scales and mins 4–7 take four bits from bytes 8–11 and their top two from
                // the top bits of bytes 0–3 and 4–7. In registers: stored as ints and loaded as a
                // vector, they stalled on store forwarding.
                var packed0 = *(uint*)(block + 4);
                var packed1 = *(uint*)(block + 8);
                var packed2 = *(uint*)(block + 12);
                var scalesLow = packed0 & 0x3F3F3F3F;
                var minsLow = packed1 & 0x3F3F3F3F;
                var scalesHigh = (packed2 & 0x0F0F0F0F) | (((packed0 >> 6) & 0x03030303) << 4);
                var minsHigh = ((packed2 >> 4) & 0x0F0F0F0F) | (((packed1 >> 6) & 0x03030303) << 4);
                var scaleBytes = Vector128.CreateScalar(scalesLow | ((ulong)scalesHigh << 32)).AsByte();
                var minBytes = Vector128.CreateScalar(minsLow | ((ulong)minsHigh << 32)).AsByte();
                // Each in both int16 halves of its lane: madd's operand for the scales, and for the
                // mins groups 2j and 2j + 1 (one sub-block) side by side.
                var scales8 = Avx2.ConvertToVector256Int32(scaleBytes);
                var mins8 = Avx2.ConvertToVector256Int32(minBytes);
                var scales = Avx2.Or(scales8, Avx2.ShiftLeftLogical(scales8, 16)).ToVector512Unsafe();
                var mins = Avx2.Or(mins8, Avx2.ShiftLeftLogical(mins8, 16));
                Avx512F.Store((int*)at.Mins, Avx512F.InsertVector256(mins.ToVector512Unsafe(), mins, 1));
                var q = Quants + ((nint)s * SuperBlockPanelBytes) + (row * 2 * Chunk);
                var lanes = ScaleLanes + ((nint)s * SuperBlockPanelBytes) + (row * 2 * Chunk);
                var high = block + 16;
                var nibbles = block + (fiveBits ? 48 : 16);
                for (var p = 0; p < ChunksPerSuperBlock / 2; p++)
                {
                    // Chunk 2p: the low nibbles of 32 bytes, chunk 2p + 1 their high nibbles.
                    var v = Avx.LoadVector256(nibbles + (p * Chunk));
                    var lowHalf = Avx2.And(v, mask);
                    var highHalf = Avx2.And(Avx2.ShiftRightLogical(v.AsUInt16(), 4).AsByte(), mask);
                    if (fiveBits)
                    {
                        var h = Avx.LoadVector256(high);
                        lowHalf = Avx2.Or(lowHalf, Avx2.ShiftLeftLogical(Avx2.And(Vector256.ShiftRightLogical(h.AsUInt16(), 2 * p).AsByte(), one).AsUInt16(), 4).AsByte());
                        highHalf = Avx2.Or(highHalf, Avx2.ShiftLeftLogical(Avx2.And(Vector256.ShiftRightLogical(h.AsUInt16(), (2 * p) + 1).AsByte(), one).AsUInt16(), 4).AsByte());
                    }

                    var offset = p * TileRows * 2 * Chunk;
                    Avx.Store(q + offset, lowHalf);
                    Avx.Store(q + offset + Chunk, highHalf);
                    Avx512F.Store((int*)(lanes + offset), Avx512F.PermuteVar16x32(scales, SubBlockPair(p)));
                }
            }
        }

        /// <summary>Lane indices 2p eight times, then 2p + 1 eight times.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static Vector512<int> SubBlockPair(int p) =>
            Vector512.Create(Vector256.Create(2 * p), Vector256.Create((2 * p) + 1));

        /// <summary>A group scale in both int16 halves of an int32 lane.</summary>
        private static int Lane(sbyte scale)
        {
            var half = (int)(ushort)(short)scale;
            return half | (half << 16);
        }
    }

    /// <summary>What the tile needs to know of a K-quant's unpacked form.</summary>
    private interface IKLayout
    {
        /// <summary>Whether the unpacked quants are signed (the activations then go into maddubs as the unsigned side).</summary>
        static abstract bool Signed { get; }

        /// <summary>Whether the type has a min term (dmin × min).</summary>
        static abstract bool HasMins { get; }
    }

    /// <summary>Q2_K, Q4_K, Q5_K: quants already unsigned (0–3, 0–15, 0–31), a min term.</summary>
    private struct UnsignedWithMins : IKLayout
    {
        public static bool Signed => false;

        public static bool HasMins => true;
    }

    /// <summary>Q3_K: quants −4…3, no min.</summary>
    private struct Signed3K : IKLayout
    {
        public static bool Signed => true;

        public static bool HasMins => false;
    }

    /// <summary>Q6_K: quants −32…31, no min.</summary>
    private struct Signed6K : IKLayout
    {
        public static bool Signed => true;

        public static bool HasMins => false;
    }
}
