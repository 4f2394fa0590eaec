using System.Buffers.Binary;
using Mesh.Kernels.Launch;

namespace Mesh.Kernels.Reference;

/// <summary>
/// The quantized matvec kernels of <c>matvec_quant.ptx</c> emulated on the CPU operation for
/// operation: each of a warp's 32 lanes decodes the same bytes the PTX decodes, accumulates with
/// the same single-rounding <c>fma</c>s in the same order, and the lanes are combined by the same
/// butterfly (xor 16, 8, 4, 2, 1). So the GPU check can demand (near-)bit equality, while the CPU
/// tests hold this emulation to the CPU backend's quantized matmul and dequantizers, which is what
/// ties the PTX's reading of ggml's block layouts (ggml-common.h) to the model files.
/// </summary>
public static class QuantMatVecReference
{
    private const int Lanes = 32;

    /// <summary>
    /// y[r][n] = Σ_k W[n][k]·x[r][k] for r &lt; <paramref name="rows"/> and n &lt; <paramref name="n"/>;
    /// <paramref name="weights"/> holds n rows of <see cref="BlockQuantFormats.RowBytes"/> bytes,
    /// <paramref name="x"/> is [rows][k] and <paramref name="y"/> [rows][n].
    /// </summary>
    /// <exception cref="ArgumentException">K is not a whole number of blocks or a span is too short.</exception>
    public static void MatVec(BlockQuantFormat format, ReadOnlySpan<byte> weights, ReadOnlySpan<float> x, Span<float> y, int rows, int n, int k)
    {
        KernelShapes.MatVecQuant(n, k, format);
        var rowBytes = (int)BlockQuantFormats.RowBytes(format, k);
        if (weights.Length < (long)rowBytes * n || x.Length < (long)rows * k || y.Length < (long)rows * n)
        {
            throw new ArgumentException($"spans too short for {rows}x{k} activations, {n} {format} weight rows and {rows}x{n} outputs");
        }
        Span<float> lanes = stackalloc float[Lanes];
        for (var r = 0; r < rows; r++)
        {
            var xr = x.Slice(r * k, k);
            for (var o = 0; o < n; o++)
            {
                var w = weights.Slice(o * rowBytes, rowBytes);
                for (var lane = 0; lane < Lanes; lane++)
                {
                    lanes[lane] = format switch
                    {
                        BlockQuantFormat.Q8_0 => LaneQ8_0(w, xr, lane, k / 32),
                        BlockQuantFormat.Q4_0 => LaneQ4_0(w, xr, lane, k / 32),
                        BlockQuantFormat.Q4_K => LaneQ45K(w, xr, lane, k / 256, highBits: false),
                        BlockQuantFormat.Q5_K => LaneQ45K(w, xr, lane, k / 256, highBits: true),
                        _ => LaneQ6K(w, xr, lane, k / 256),
                    };
                }
                y[(r * n) + o] = WarpSum(lanes);
            }
        }
    }

    /// <summary>
    /// <paramref name="n"/> random weight rows of <paramref name="k"/> values in <paramref name="format"/>:
    /// random quant, scale and min bytes, with the f16 block scales set to small finite values (random
    /// bytes there could be Inf or NaN), multiplied by <paramref name="scale"/>. For the CPU tests
    /// and the GPU check alike.
    /// </summary>
    public static byte[] RandomWeights(BlockQuantFormat format, int n, int k, Random random, double scale = 1)
    {
        var weights = new byte[BlockQuantFormats.RowBytes(format, k) * n];
        random.NextBytes(weights);
        var bytes = BlockQuantFormats.BlockBytes(format);
        for (var b = 0; b < weights.Length / bytes; b++)
        {
            var block = weights.AsSpan(b * bytes, bytes);
            switch (format)
            {
                case BlockQuantFormat.Q8_0 or BlockQuantFormat.Q4_0:
                    WriteHalf(block, scale * (0.001 + (random.NextDouble() * 0.02)));
                    break;
                case BlockQuantFormat.Q4_K or BlockQuantFormat.Q5_K:
                    WriteHalf(block, scale * (0.0005 + (random.NextDouble() * 0.002)));
                    WriteHalf(block[2..], scale * random.NextDouble() * 0.002);
                    break;
                default:
                    WriteHalf(block[208..], scale * (0.0002 + (random.NextDouble() * 0.001)));
                    break;
            }
        }
        return weights;
    }

    private static void WriteHalf(Span<byte> destination, double value) =>
        BinaryPrimitives.WriteUInt16LittleEndian(destination, BitConverter.HalfToUInt16Bits((Half)value));

    /// <summary>The butterfly reduction of <c>shfl.sync.bfly</c> xor 16, 8, 4, 2, 1; lane 0's result.</summary>
    public static float WarpSum(Span<float> lanes)
    {
        Span<float> next = stackalloc float[Lanes];
        for (var mask = 16; mask >= 1; mask >>= 1)
        {
            for (var l = 0; l < Lanes; l++)
            {
                next[l] = lanes[l] + lanes[l ^ mask];
            }
            next.CopyTo(lanes);
        }
        return lanes[0];
    }

    private static float Half16(ReadOnlySpan<byte> bytes, int offset) => (float)BitConverter.UInt16BitsToHalf(BinaryPrimitives.ReadUInt16LittleEndian(bytes[offset..]));

    private static float Fma(float a, float b, float c) => MathF.FusedMultiplyAdd(a, b, c);

    /// <summary>Blocks lane, lane+32, …: s = Σ fma(q_i, x_i) for i = 0..31, acc = fma(d, s, acc).</summary>
    private static float LaneQ8_0(ReadOnlySpan<byte> w, ReadOnlySpan<float> x, int lane, int blocks)
    {
        var acc = 0f;
        for (var b = lane; b < blocks; b += Lanes)
        {
            var block = w.Slice(b * 34, 34);
            var s = 0f;
            for (var i = 0; i < 32; i++)
            {
                s = Fma((sbyte)block[2 + i], x[(b * 32) + i], s);
            }
            acc = Fma(Half16(block, 0), s, acc);
        }
        return acc;
    }

    /// <summary>Blocks lane, lane+32, …: for j = 0..15, s = fma(lo_j − 8, x_j, s) then fma(hi_j − 8, x_{j+16}, s); acc = fma(d, s, acc).</summary>
    private static float LaneQ4_0(ReadOnlySpan<byte> w, ReadOnlySpan<float> x, int lane, int blocks)
    {
        var acc = 0f;
        for (var b = lane; b < blocks; b += Lanes)
        {
            var block = w.Slice(b * 18, 18);
            var s = 0f;
            for (var j = 0; j < 16; j++)
            {
                s = Fma((block[2 + j] & 0xF) - 8, x[(b * 32) + j], s);
                s = Fma((block[2 + j] >> 4) - 8, x[(b * 32) + j + 16], s);
            }
            acc = Fma(Half16(block, 0), s, acc);
        }
        return acc;
    }

    /// <summary>
    /// Q4_K and Q5_K (<paramref name="highBits"/>), lane l of each super-block: j = l/8, i = 4(l%8);
    /// quant bytes qs[32j+i..+3] give values 64j+i+t (low nibbles, group 2j) and 64j+32+i+t (high,
    /// group 2j+1); Q5_K adds bit 2j (resp. 2j+1) of qh[i+t] as the 5th bit; scales and mins by
    /// ggml's get_scale_min_k4.
    /// </summary>
    private static float LaneQ45K(ReadOnlySpan<byte> w, ReadOnlySpan<float> x, int lane, int superBlocks, bool highBits)
    {
        var acc = 0f;
        int j = lane >> 3, i = 4 * (lane & 7);
        var blockBytes = highBits ? 176 : 144;
        var qsOffset = highBits ? 48 : 16;
        for (var sb = 0; sb < superBlocks; sb++)
        {
            var block = w.Slice(sb * blockBytes, blockBytes);
            float d = Half16(block, 0), dmin = Half16(block, 2);
            var scales = block.Slice(4, 12);
            var (scLo, mLo) = ScaleMinK4(2 * j, scales);
            var (scHi, mHi) = ScaleMinK4((2 * j) + 1, scales);
            var xs = x.Slice((sb * 256) + (64 * j) + i);
            float sLo = 0f, sHi = 0f;
            for (var t = 0; t < 4; t++)
            {
                var q = block[qsOffset + (32 * j) + i + t];
                int lo = q & 0xF, hi = q >> 4;
                if (highBits)
                {
                    var qh = block[16 + i + t] >> (2 * j);
                    lo |= (qh & 1) << 4;
                    hi |= ((qh >> 1) & 1) << 4;
                }
                sLo = Fma(lo, xs[t], sLo);
                sHi = Fma(hi, xs[32 + t], sHi);
            }
            var xLo = xs[0] + xs[1] + xs[2] + xs[3];
            var xHi = xs[32] + xs[33] + xs[34] + xs[35];
            acc = Fma(d * scLo, sLo, acc);
            acc = Fma(-(dmin * mLo), xLo, acc);
            acc = Fma(d * scHi, sHi, acc);
            acc = Fma(-(dmin * mHi), xHi, acc);
        }
        return acc;
    }

    /// <summary>ggml's get_scale_min_k4: the 6-bit scale and min of group <paramref name="g"/> (0..7) from the 12 packed bytes.</summary>
    private static (int Scale, int Min) ScaleMinK4(int g, ReadOnlySpan<byte> q) => g < 4
        ? (q[g] & 63, q[g + 4] & 63)
        : ((q[g + 4] & 0xF) | ((q[g - 4] >> 6) << 4), (q[g + 4] >> 4) | ((q[g] >> 6) << 4));

    /// <summary>
    /// Lane l of each super-block: h = l/16, p = 2(l%16); values 128h+p+u+32k (u = 0, 1; k = 0..3)
    /// with scale scales[8h+p/16+2k], in ggml's dequantize_row_q6_K order; acc = fma(d·sc_k, s_k, acc).
    /// </summary>
    private static float LaneQ6K(ReadOnlySpan<byte> w, ReadOnlySpan<float> x, int lane, int superBlocks)
    {
        var acc = 0f;
        int h = lane >> 4, p = 2 * (lane & 15);
        Span<float> s = stackalloc float[4];
        for (var sb = 0; sb < superBlocks; sb++)
        {
            var block = w.Slice(sb * 210, 210);
            var d = Half16(block, 208);
            var xs = x.Slice((sb * 256) + (128 * h) + p);
            for (var kk = 0; kk < 4; kk++)
            {
                var sum = 0f;
                for (var u = 0; u < 2; u++)
                {
                    var ql = block[(64 * h) + (kk % 2 == 0 ? 0 : 32) + p + u];
                    var low = kk < 2 ? ql & 0xF : ql >> 4;
                    var high = (block[128 + (32 * h) + p + u] >> (2 * kk)) & 3;
                    sum = Fma((low | (high << 4)) - 32, xs[(32 * kk) + u], sum);
                }
                s[kk] = sum;
            }
            for (var kk = 0; kk < 4; kk++)
            {
                acc = Fma(d * (sbyte)block[192 + (8 * h) + (p / 16) + (2 * kk)], s[kk], acc);
            }
        }
        return acc;
    }
}
