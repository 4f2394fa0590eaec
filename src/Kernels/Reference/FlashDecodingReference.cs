using Mesh.Kernels.Layout;

namespace Mesh.Kernels.Reference;

/// <summary>
/// What the flash-decoding kernels (attention_flash_decode.ptx) compute, as CPU loops in f64: the
/// split pass's per-chunk partials (m = max score in log2 units, l = Σ 2^(s − m), o = Σ 2^(s − m)·v)
/// and the combine pass (rescale each chunk by 2^(m_s − M), sum, divide). Tests hold split +
/// combine equal to <see cref="ReferenceKernels.Attention"/>, the unsplit attention; the GPU check
/// compares both kernels with these.
/// </summary>
public static class FlashDecodingReference
{
    private static readonly double Log2E = 1 / Math.Log(2);

    /// <summary>
    /// The split pass: partial outputs [tokens][heads][splits][head_dim] and (m, l) pairs
    /// [tokens][heads][splits][2]; arguments as <see cref="ReferenceKernels.Attention"/>.
    /// </summary>
    public static (float[] PartialOutput, float[] PartialMaxSum) Split(
        ReadOnlySpan<float> q, ReadOnlySpan<float> keyPool, ReadOnlySpan<float> valuePool, ReadOnlySpan<int> blockTables, int maxBlocks,
        ReadOnlySpan<int> tokenSequence, ReadOnlySpan<int> tokenPosition, int heads, BlockTableLayout layout, float scale, int splitLength, int splits)
    {
        var hd = layout.HeadDim;
        var group = heads / layout.KvHeads;
        var tokens = tokenPosition.Length;
        var partO = new float[(long)tokens * heads * splits * hd];
        var partMl = new float[(long)tokens * heads * splits * 2];
        var o = new double[hd];
        for (var t = 0; t < tokens; t++)
        {
            var table = blockTables.Slice(tokenSequence[t] * maxBlocks, maxBlocks);
            for (var h = 0; h < heads; h++)
            {
                var query = q.Slice(((t * heads) + h) * hd, hd);
                for (var s = 0; s < splits; s++)
                {
                    var index = (((t * heads) + h) * splits) + s;
                    var start = s * splitLength;
                    var end = Math.Min(tokenPosition[t] + 1, start + splitLength);
                    if (start >= end)
                    {
                        partMl[2 * index] = float.NegativeInfinity;
                        continue;
                    }
                    var scores = new double[end - start];
                    var m = double.NegativeInfinity;
                    for (var p = start; p < end; p++)
                    {
                        var slot = layout.PhysicalSlot(table, p);
                        double dot = 0;
                        for (var d = 0; d < hd; d++)
                        {
                            dot += (double)query[d] * keyPool[(int)layout.PoolOffset(slot, h / group, d)];
                        }
                        scores[p - start] = dot * scale * Log2E;
                        m = Math.Max(m, scores[p - start]);
                    }
                    double l = 0;
                    Array.Clear(o);
                    for (var p = start; p < end; p++)
                    {
                        var weight = Math.Pow(2, scores[p - start] - m);
                        l += weight;
                        var slot = layout.PhysicalSlot(table, p);
                        for (var d = 0; d < hd; d++)
                        {
                            o[d] += weight * valuePool[(int)layout.PoolOffset(slot, h / group, d)];
                        }
                    }
                    partMl[2 * index] = (float)m;
                    partMl[(2 * index) + 1] = (float)l;
                    for (var d = 0; d < hd; d++)
                    {
                        partO[((long)index * hd) + d] = (float)o[d];
                    }
                }
            }
        }
        return (partO, partMl);
    }

    /// <summary>The combine pass: output [tokens][heads][head_dim] from the split pass's partials.</summary>
    public static void Combine(Span<float> output, ReadOnlySpan<float> partialOutput, ReadOnlySpan<float> partialMaxSum, int tokens, int heads, int headDim, int splits)
    {
        for (var th = 0; th < tokens * heads; th++)
        {
            var first = th * splits;
            var max = double.NegativeInfinity;
            for (var s = 0; s < splits; s++)
            {
                max = Math.Max(max, partialMaxSum[2 * (first + s)]);
            }
            for (var d = 0; d < headDim; d++)
            {
                double sum = 0, value = 0;
                for (var s = 0; s < splits; s++)
                {
                    var weight = Math.Pow(2, partialMaxSum[2 * (first + s)] - max); // 0 for empty splits (m = −∞)
                    sum += partialMaxSum[(2 * (first + s)) + 1] * weight;
                    value += partialOutput[((first + s) * headDim) + d] * weight;
                }
                output[(th * headDim) + d] = (float)(value / sum);
            }
        }
    }
}
