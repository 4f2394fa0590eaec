using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Mesh.Inference.Backends.Cpu;

/// <summary>
/// y = x · Wᵀ for f32 weight rows (and f16/bf16 rows once widened): the register-tiled micro-kernels.
/// <para>
/// With AVX-512 each pass computes a tile of four weight rows × four activation rows in sixteen
/// 512-bit accumulators: per 16 values of k it loads eight vectors and issues sixteen FMAs, so the
/// FMA units, not the loads, set the pace (the register-blocking idea of BLIS and llamafile's
/// tinyBLAS, in the dot-product form that needs no repacking of the mmapped weights). The four rows
/// stay in L1 while every token group passes over them (the first group also prefetches the next
/// four rows, so their memory latency hides behind its arithmetic: at 16 tokens the weights stream
/// from memory as fast as the FMAs use them), and the tokens that do not fill a group of four are
/// finished against those same rows, so a step reads the weights from memory once whatever
/// its token count (a verification step of speculative decoding with five tokens included).
/// </para>
/// <para>
/// Every output is computed the same way whichever tile holds it: one 16-lane accumulator summed in
/// k order, reduced by one fixed tree (<see cref="Reduce"/>, and <see cref="Reduce4"/> which performs
/// the same additions for four accumulators at once), then the k tail added in order. So the numbers
/// do not depend on the batch around a token or on how rows are split across threads. Without
/// AVX-512 the AVX2 kernels (8 lanes, one row × four tokens or four rows × one token) do the same
/// with their own fixed order.
/// </para>
/// </summary>
internal static unsafe class CpuF32MatMul
{
    private const int Lanes = 16;

    /// <summary>
    /// Whether the AVX-512 tiles run (default: where the CPU has them). A switch only so that the
    /// benchmark can measure them against the AVX2 kernels in the same run; results of the two differ
    /// in the last bits (another summation order), each being fixed for every batch and thread count.
    /// </summary>
    internal static bool Wide { get; set; } = Avx512F.IsSupported;

    /// <summary>
    /// Whether the 4 × 4 tiles prefetch the next four weight rows during their first token group
    /// (default on). A switch only so that the benchmark can measure it in the same run.
    /// </summary>
    internal static bool Prefetch { get; set; } = true;

    /// <summary>
    /// Output columns [<paramref name="rowStart"/>, <paramref name="rowEnd"/>) of y (row stride
    /// <paramref name="yStride"/>) for the <paramref name="n"/> activation rows at <paramref name="x"/>
    /// (row stride <paramref name="cols"/>); weight row r starts at <paramref name="w"/> + r·<paramref name="wStride"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Rows(float* w, nint wStride, float* x, int n, int cols, float* y, int yStride, int rowStart, int rowEnd)
    {
        if (Wide && Avx512F.IsSupported)
        {
            RowsWide(w, wStride, x, n, cols, y, yStride, rowStart, rowEnd);
            return;
        }

        // Groups of four tokens share each weight load; leftover tokens (all of them when decoding one
        // sequence) take four weight rows per pass instead.
        var grouped = Fma.IsSupported ? n / 4 * 4 : 0;
        for (var r = rowStart; r < rowEnd; r++)
        {
            RowTimesBatch(w + (r * wStride), x, cols, y + r, yStride, grouped);
        }

        for (var b = grouped; b < n; b++)
        {
            RowsTimesOne(w, wStride, rowStart, rowEnd, x + ((nint)b * cols), cols, y + ((nint)b * yStride));
        }
    }

    /// <summary>
    /// One weight row (already widened to f32) times all <paramref name="n"/> activation rows; the
    /// f16/bf16 path, which widens a row into scratch at a time.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Row(float* w, float* x, int n, int cols, float* y, int yStride)
    {
        if (Wide && Avx512F.IsSupported)
        {
            var b = 0;
            for (; b + 4 <= n; b += 4)
            {
                Tile1x4(w, x + ((nint)b * cols), cols, y + ((nint)b * yStride), yStride);
            }

            for (; b < n; b++)
            {
                y[(nint)b * yStride] = DotWide(w, x + ((nint)b * cols), cols);
            }

            return;
        }

        RowTimesBatch(w, x, cols, y, yStride, n);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void RowsWide(float* w, nint wStride, float* x, int n, int cols, float* y, int yStride, int rowStart, int rowEnd)
    {
        var r = rowStart;
        for (; r + 4 <= rowEnd; r += 4)
        {
            var rows = w + (r * wStride);
            var b = 0;
            // While these rows' token groups run, the next four rows are fetched, spread over the
            // groups (group g of G fetches columns [g·cols/G, (g+1)·cols/G) of all four), so the memory
            // system streams through all of this pass's arithmetic instead of bursting during the
            // first group and idling through the rest: at 16 tokens the two take about equally long.
            var next = Prefetch && r + 8 <= rowEnd ? rows + (4 * wStride) : null;
            var groups = n / 4;
            for (var g = 0; b + 4 <= n; b += 4, g++)
            {
                Tile4x4(rows, wStride, x + ((nint)b * cols), cols, y + ((nint)b * yStride) + r, yStride,
                    next, g * cols / groups, (g + 1) * cols / groups);
            }

            // The tokens left over take the same four rows while they are still in L1.
            for (; b < n; b++)
            {
                Tile4x1(rows, wStride, x + ((nint)b * cols), cols, y + ((nint)b * yStride) + r);
            }
        }

        for (; r < rowEnd; r++)
        {
            var row = w + (r * wStride);
            var b = 0;
            for (; b + 4 <= n; b += 4)
            {
                Tile1x4(row, x + ((nint)b * cols), cols, y + ((nint)b * yStride) + r, yStride);
            }

            for (; b < n; b++)
            {
                y[((nint)b * yStride) + r] = DotWide(row, x + ((nint)b * cols), cols);
            }
        }
    }

    /// <summary>Rows w0..w3 (stride <paramref name="wStride"/>) times activation rows x0..x3 (stride <paramref name="cols"/>): y[b·yStride + i].</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Tile4x4(float* w0, nint wStride, float* x0, int cols, float* y, int yStride, float* prefetch, int prefetchFrom, int prefetchTo)
    {
        float* w1 = w0 + wStride, w2 = w1 + wStride, w3 = w2 + wStride;
        float* x1 = x0 + cols, x2 = x1 + cols, x3 = x2 + cols;
        Vector512<float> a00 = default, a01 = default, a02 = default, a03 = default;
        Vector512<float> a10 = default, a11 = default, a12 = default, a13 = default;
        Vector512<float> a20 = default, a21 = default, a22 = default, a23 = default;
        Vector512<float> a30 = default, a31 = default, a32 = default, a33 = default;
        var k = 0;
        for (; k + Lanes <= cols; k += Lanes)
        {
            if (prefetch != null && k >= prefetchFrom && k < prefetchTo)
            {
                Sse.Prefetch0(prefetch + k);
                Sse.Prefetch0(prefetch + wStride + k);
                Sse.Prefetch0(prefetch + (2 * wStride) + k);
                Sse.Prefetch0(prefetch + (3 * wStride) + k);
            }

            var v0 = Avx512F.LoadVector512(x0 + k);
            var v1 = Avx512F.LoadVector512(x1 + k);
            var v2 = Avx512F.LoadVector512(x2 + k);
            var v3 = Avx512F.LoadVector512(x3 + k);
            var r0 = Avx512F.LoadVector512(w0 + k);
            a00 = Avx512F.FusedMultiplyAdd(r0, v0, a00);
            a01 = Avx512F.FusedMultiplyAdd(r0, v1, a01);
            a02 = Avx512F.FusedMultiplyAdd(r0, v2, a02);
            a03 = Avx512F.FusedMultiplyAdd(r0, v3, a03);
            var r1 = Avx512F.LoadVector512(w1 + k);
            a10 = Avx512F.FusedMultiplyAdd(r1, v0, a10);
            a11 = Avx512F.FusedMultiplyAdd(r1, v1, a11);
            a12 = Avx512F.FusedMultiplyAdd(r1, v2, a12);
            a13 = Avx512F.FusedMultiplyAdd(r1, v3, a13);
            var r2 = Avx512F.LoadVector512(w2 + k);
            a20 = Avx512F.FusedMultiplyAdd(r2, v0, a20);
            a21 = Avx512F.FusedMultiplyAdd(r2, v1, a21);
            a22 = Avx512F.FusedMultiplyAdd(r2, v2, a22);
            a23 = Avx512F.FusedMultiplyAdd(r2, v3, a23);
            var r3 = Avx512F.LoadVector512(w3 + k);
            a30 = Avx512F.FusedMultiplyAdd(r3, v0, a30);
            a31 = Avx512F.FusedMultiplyAdd(r3, v1, a31);
            a32 = Avx512F.FusedMultiplyAdd(r3, v2, a32);
            a33 = Avx512F.FusedMultiplyAdd(r3, v3, a33);
        }

        // Column b of the tile: one token against the four rows.
        Store(Reduce4(a00, a10, a20, a30), y, w0, wStride, x0, k, cols);
        Store(Reduce4(a01, a11, a21, a31), y + yStride, w0, wStride, x1, k, cols);
        Store(Reduce4(a02, a12, a22, a32), y + (2 * (nint)yStride), w0, wStride, x2, k, cols);
        Store(Reduce4(a03, a13, a23, a33), y + (3 * (nint)yStride), w0, wStride, x3, k, cols);
    }

    /// <summary>Rows w0..w3 times one activation row: y[0..3].</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Tile4x1(float* w0, nint wStride, float* x, int cols, float* y)
    {
        float* w1 = w0 + wStride, w2 = w1 + wStride, w3 = w2 + wStride;
        Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
        var k = 0;
        for (; k + Lanes <= cols; k += Lanes)
        {
            var v = Avx512F.LoadVector512(x + k);
            a0 = Avx512F.FusedMultiplyAdd(Avx512F.LoadVector512(w0 + k), v, a0);
            a1 = Avx512F.FusedMultiplyAdd(Avx512F.LoadVector512(w1 + k), v, a1);
            a2 = Avx512F.FusedMultiplyAdd(Avx512F.LoadVector512(w2 + k), v, a2);
            a3 = Avx512F.FusedMultiplyAdd(Avx512F.LoadVector512(w3 + k), v, a3);
        }

        Store(Reduce4(a0, a1, a2, a3), y, w0, wStride, x, k, cols);
    }

    /// <summary>One weight row times activation rows x0..x3: y[b·yStride].</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Tile1x4(float* w, float* x0, int cols, float* y, int yStride)
    {
        float* x1 = x0 + cols, x2 = x1 + cols, x3 = x2 + cols;
        Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
        var k = 0;
        for (; k + Lanes <= cols; k += Lanes)
        {
            var r = Avx512F.LoadVector512(w + k);
            a0 = Avx512F.FusedMultiplyAdd(r, Avx512F.LoadVector512(x0 + k), a0);
            a1 = Avx512F.FusedMultiplyAdd(r, Avx512F.LoadVector512(x1 + k), a1);
            a2 = Avx512F.FusedMultiplyAdd(r, Avx512F.LoadVector512(x2 + k), a2);
            a3 = Avx512F.FusedMultiplyAdd(r, Avx512F.LoadVector512(x3 + k), a3);
        }

        var sums = Reduce4(a0, a1, a2, a3);
        y[0] = Tail(sums.GetElement(0), w, x0, k, cols);
        y[yStride] = Tail(sums.GetElement(1), w, x1, k, cols);
        y[2 * (nint)yStride] = Tail(sums.GetElement(2), w, x2, k, cols);
        y[3 * (nint)yStride] = Tail(sums.GetElement(3), w, x3, k, cols);
    }

    /// <summary>One weight row times one activation row, in the order every tile uses.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static float DotWide(float* w, float* x, int cols)
    {
        Vector512<float> acc = default;
        var k = 0;
        for (; k + Lanes <= cols; k += Lanes)
        {
            acc = Avx512F.FusedMultiplyAdd(Avx512F.LoadVector512(w + k), Avx512F.LoadVector512(x + k), acc);
        }

        return Tail(Reduce(acc), w, x, k, cols);
    }

    /// <summary>
    /// The sum of the 16 lanes of <paramref name="v"/> by the tree every kernel uses: lane j + lane
    /// j+8, then + the pair 4 apart, then 2 apart, then the last two.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static float Reduce(Vector512<float> v)
    {
        var s = v.GetLower() + v.GetUpper();
        var t = s.GetLower() + s.GetUpper();
        var u0 = t.GetElement(0) + t.GetElement(2);
        var u1 = t.GetElement(1) + t.GetElement(3);
        return u0 + u1;
    }

    /// <summary>
    /// (<see cref="Reduce"/>(a0), …, <see cref="Reduce"/>(a3)) with the same additions, four
    /// accumulators packed together so a tile's sums cost a few shuffles instead of four reductions.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector128<float> Reduce4(Vector512<float> a0, Vector512<float> a1, Vector512<float> a2, Vector512<float> a3)
    {
        // s_i = lower + upper half of a_i (lane j + lane j+8).
        var s0 = a0.GetLower() + a0.GetUpper();
        var s1 = a1.GetLower() + a1.GetUpper();
        var s2 = a2.GetLower() + a2.GetUpper();
        var s3 = a3.GetLower() + a3.GetUpper();

        // t_i = lower + upper 128 bits of s_i, two of them to a register: [t0 | t1], [t2 | t3].
        var t01 = Avx.Permute2x128(s0, s1, 0x20) + Avx.Permute2x128(s0, s1, 0x31);
        var t23 = Avx.Permute2x128(s2, s3, 0x20) + Avx.Permute2x128(s2, s3, 0x31);

        // u_i = (t_i0 + t_i2, t_i1 + t_i3): 128-bit lanes [u0, u2] and [u1, u3].
        var u = Avx.Shuffle(t01, t23, 0b01_00_01_00) + Avx.Shuffle(t01, t23, 0b11_10_11_10);

        // u_i0 + u_i1 in lanes 0 and 2 of each 128-bit half: [r0, ·, r2, ·, r1, ·, r3, ·].
        var r = u + Avx.Shuffle(u, u, 0b10_11_00_01);
        return Vector128.Create(r.GetElement(0), r.GetElement(4), r.GetElement(2), r.GetElement(6));
    }

    /// <summary>Writes sum i plus the k tail of row i (rows w0 + i·wStride against <paramref name="x"/>) to y[i].</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store(Vector128<float> sums, float* y, float* w0, nint wStride, float* x, int k, int cols)
    {
        if (k == cols)
        {
            sums.Store(y);
            return;
        }

        for (var i = 0; i < 4; i++)
        {
            y[i] = Tail(sums.GetElement(i), w0 + (i * wStride), x, k, cols);
        }
    }

    /// <summary><paramref name="sum"/> plus w[k]·x[k] for the columns from <paramref name="k"/> on, in order.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Tail(float sum, float* w, float* x, int k, int cols)
    {
        for (; k < cols; k++)
        {
            sum += w[k] * x[k];
        }

        return sum;
    }

    /// <summary>One f32 weight row times every activation row, four activation rows per pass so each weight load serves four FMAs.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void RowTimesBatch(float* w, float* x, int cols, float* y, int yStride, int n)
    {
        var b = 0;
        if (Fma.IsSupported)
        {
            for (; b + 4 <= n; b += 4)
            {
                var x0 = x + ((nint)b * cols);
                var x1 = x0 + cols;
                var x2 = x1 + cols;
                var x3 = x2 + cols;
                Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default;
                var k = 0;
                for (; k + 8 <= cols; k += 8)
                {
                    var wk = Avx.LoadVector256(w + k);
                    a0 = Fma.MultiplyAdd(wk, Avx.LoadVector256(x0 + k), a0);
                    a1 = Fma.MultiplyAdd(wk, Avx.LoadVector256(x1 + k), a1);
                    a2 = Fma.MultiplyAdd(wk, Avx.LoadVector256(x2 + k), a2);
                    a3 = Fma.MultiplyAdd(wk, Avx.LoadVector256(x3 + k), a3);
                }

                float s0 = Vector256.Sum(a0), s1 = Vector256.Sum(a1), s2 = Vector256.Sum(a2), s3 = Vector256.Sum(a3);
                for (; k < cols; k++)
                {
                    s0 += w[k] * x0[k];
                    s1 += w[k] * x1[k];
                    s2 += w[k] * x2[k];
                    s3 += w[k] * x3[k];
                }

                y[(nint)b * yStride] = s0;
                y[(nint)(b + 1) * yStride] = s1;
                y[(nint)(b + 2) * yStride] = s2;
                y[(nint)(b + 3) * yStride] = s3;
            }
        }

        for (; b < n; b++)
        {
            y[(nint)b * yStride] = Dot(w, x + ((nint)b * cols), cols);
        }
    }

    /// <summary>Four f32 weight rows times one activation row: four independent FMA chains hide the FMA latency.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void RowsTimesOne(float* w, nint wStride, int rowStart, int rowEnd, float* x, int cols, float* y)
    {
        var r = rowStart;
        if (Fma.IsSupported)
        {
            for (; r + 4 <= rowEnd; r += 4)
            {
                var w0 = w + (r * wStride);
                var w1 = w0 + wStride;
                var w2 = w1 + wStride;
                var w3 = w2 + wStride;
                Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default;
                var k = 0;
                for (; k + 8 <= cols; k += 8)
                {
                    var xk = Avx.LoadVector256(x + k);
                    a0 = Fma.MultiplyAdd(Avx.LoadVector256(w0 + k), xk, a0);
                    a1 = Fma.MultiplyAdd(Avx.LoadVector256(w1 + k), xk, a1);
                    a2 = Fma.MultiplyAdd(Avx.LoadVector256(w2 + k), xk, a2);
                    a3 = Fma.MultiplyAdd(Avx.LoadVector256(w3 + k), xk, a3);
                }

                float s0 = Vector256.Sum(a0), s1 = Vector256.Sum(a1), s2 = Vector256.Sum(a2), s3 = Vector256.Sum(a3);
                for (; k < cols; k++)
                {
                    s0 += w0[k] * x[k];
                    s1 += w1[k] * x[k];
                    s2 += w2[k] * x[k];
                    s3 += w3[k] * x[k];
                }

                y[r] = s0;
                y[r + 1] = s1;
                y[r + 2] = s2;
                y[r + 3] = s3;
            }
        }

        for (; r < rowEnd; r++)
        {
            y[r] = Dot(w + (r * wStride), x, cols);
        }
    }

    /// <summary>
    /// The single-row dot product of the AVX2 kernels, summed in exactly the order of the four-row
    /// kernel above, so a token's result does not depend on which other tokens share its batch.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static float Dot(float* w, float* x, int cols)
    {
        if (!Fma.IsSupported)
        {
            return TensorPrimitives.Dot(new ReadOnlySpan<float>(w, cols), new ReadOnlySpan<float>(x, cols));
        }

        Vector256<float> acc = default;
        var k = 0;
        for (; k + 8 <= cols; k += 8)
        {
            acc = Fma.MultiplyAdd(Avx.LoadVector256(w + k), Avx.LoadVector256(x + k), acc);
        }

        var sum = Vector256.Sum(acc);
        for (; k < cols; k++)
        {
            sum += w[k] * x[k];
        }

        return sum;
    }
}
