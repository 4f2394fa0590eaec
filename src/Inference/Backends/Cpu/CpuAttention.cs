using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using Mesh.Inference.Models;

namespace Mesh.Inference.Backends.Cpu;

/// <summary>
/// Grouped-query attention over the paged KV cache, llama2.c's loop taken over runs of query tokens:
/// the tokens of one sequence that are consecutive in the batch (a prefill chunk, or a verify step's
/// token and drafts) are processed together per (tile of such a run, KV head), so each key and value
/// row is read once for all the query tokens of the tile and all the query heads of its group, with
/// causal masking by position (a query at position p sees t ≤ p).
/// </summary>
/// <remarks>
/// A query's arithmetic does not depend on the run around it: its scores are computed one position at a
/// time (<see cref="Dot"/>), soft-maxed over its own positions 0..p, and its values accumulated in
/// position order (<see cref="Accumulate"/>), the same operations in the same order whether it is
/// alone in a decode step, first of a verify run or in the middle of a prefill chunk, and whichever
/// thread runs it. So the output for a token depends only on its query and its sequence's cache.
/// </remarks>
internal sealed unsafe class CpuAttention(LlamaConfig config, CpuKvCache kv, CpuParallel parallel, bool perToken)
{
    // Query tokens per work item: a long prefill run is cut into tiles so that every core gets work.
    // The cut changes which item reads a key row, never the arithmetic of a query.
    private const int TileTokens = 16;

    // A tile's scores (tokens × group heads × positions) stay under 1 MiB per thread: at long contexts a
    // tile takes fewer tokens rather than growing every worker's scratch with the context.
    private const int MaxTileScores = 1 << 18;

    [ThreadStatic]
    private static float[]? t_scores;

    /// <summary>
    /// Whether a lone token's heads may share a work item (<see cref="SingleTokenHeads"/>; default on).
    /// A switch only so that the benchmark can measure it against one head per item in the same run;
    /// the outputs are the same bits either way.
    /// </summary>
    internal static bool GroupLoneTokenHeads { get; set; } = true;

    private int[] _tileFirst = new int[64];
    private int[] _tileCount = new int[64];
    private int[] _itemTile = [];
    private int[] _itemHead = [];
    private int[] _itemHeads = [];

    /// <summary>
    /// Writes attention(Q, K, V) of every token of <paramref name="batch"/> at layer <paramref name="layer"/>
    /// into <paramref name="output"/> ([token][query_dim]); <paramref name="q"/> holds the rotated queries
    /// and the cache already holds the batch's own keys and values.
    /// </summary>
    public void Run(ForwardBatch batch, int layer, float[] q, float* output)
    {
        long work = 0;
        foreach (var p in batch.Positions)
        {
            work += (long)(p + 1) * config.QueryDim * 2;
        }

        if (perToken)
        {
            PerToken(batch, layer, q, output, work);
            return;
        }

        var tiles = Tiles(batch);
        var items = Items(tiles);
        parallel.For(items, work, (item, _) =>
        {
            var tile = _itemTile[item];
            var heads = _itemHeads[item];
            if (heads == 1)
            {
                Tile(batch, layer, q, output, _tileFirst[tile], _tileCount[tile], _itemHead[item]);
            }
            else
            {
                SingleTokenHeads(batch, layer, q, output, _tileFirst[tile], _itemHead[item], heads);
            }
        });
    }

    /// <summary>
    /// The work items of <paramref name="tiles"/> tiles: one per (tile, KV head), except that a lone
    /// token of a model whose KV heads are not shared (a decode step's token) takes several adjacent
    /// heads per item, all of them when there are as many such tokens as threads
    /// (<see cref="SingleTokenHeads"/>). Which heads share an item changes which loop reads a key or
    /// value row, never a head's arithmetic. Returns the number of items.
    /// </summary>
    private int Items(int tiles)
    {
        var kvHeads = config.KvHeads;
        var singles = 0;
        for (var t = 0; t < tiles; t++)
        {
            singles += _tileCount[t] == 1 ? 1 : 0;
        }

        // The most heads per item (all of them: one pass over whole key rows) that still gives every
        // thread an item. Fewer, longer runs per position beat more items: a one-sequence step at a
        // 1000-token context took 1.14-1.34x less time with two items of six heads than with twelve
        // of one (the walks are latency-bound, not the threads' share of them).
        var perItem = 1;
        if (singles > 0 && GroupLoneTokenHeads && SingleTokenHeadsApply(config))
        {
            for (var m = kvHeads; m >= 2; m--)
            {
                if ((long)singles * ((kvHeads + m - 1) / m) >= parallel.Threads)
                {
                    perItem = m;
                    break;
                }
            }
        }

        var capacity = tiles * kvHeads;
        if (_itemTile.Length < capacity)
        {
            _itemTile = new int[capacity];
            _itemHead = new int[capacity];
            _itemHeads = new int[capacity];
        }

        var items = 0;
        for (var t = 0; t < tiles; t++)
        {
            var step = _tileCount[t] == 1 ? perItem : 1;
            for (var h = 0; h < kvHeads; h += step)
            {
                _itemTile[items] = t;
                _itemHead[items] = h;
                _itemHeads[items] = Math.Min(step, kvHeads - h);
                items++;
            }
        }

        return items;
    }

    /// <summary>
    /// Whether <see cref="SingleTokenHeads"/> serves this model: KV heads not shared (a lone token is
    /// one row per head), head_dim 64 or 128 (whole heads in its 256-float register blocks), and 512-bit vectors.
    /// </summary>
    private static bool SingleTokenHeadsApply(LlamaConfig c) =>
        Vector512.IsHardwareAccelerated && c.Heads == c.KvHeads && c.HeadDim % 64 == 0 && c.HeadDim <= 128;

    /// <summary>
    /// Cuts the batch into tiles of at most <see cref="TileTokens"/> consecutive tokens of one sequence
    /// (fewer where their scores would pass <see cref="MaxTileScores"/>); returns their number.
    /// </summary>
    private int Tiles(ForwardBatch batch)
    {
        var sequenceOf = batch.SequenceOf;
        var positions = batch.Positions;
        var group = config.Heads / config.KvHeads;
        var last = 0;
        if (_tileFirst.Length < sequenceOf.Length)
        {
            _tileFirst = new int[sequenceOf.Length];
            _tileCount = new int[sequenceOf.Length];
        }

        var tiles = 0;
        for (var i = 0; i < sequenceOf.Length; i++)
        {
            var joinLast = tiles > 0 ? Math.Max(last, positions[i]) : 0;
            if (tiles > 0 && _tileCount[tiles - 1] < TileTokens && sequenceOf[_tileFirst[tiles - 1]] == sequenceOf[i]
                && (long)(_tileCount[tiles - 1] + 1) * group * (joinLast + 1) <= MaxTileScores)
            {
                _tileCount[tiles - 1]++;
                last = joinLast;
            }
            else
            {
                _tileFirst[tiles] = i;
                _tileCount[tiles] = 1;
                last = positions[i];
                tiles++;
            }
        }

        return tiles;
    }

    /// <summary>
    /// Attention of tokens first..first+count-1 (one sequence) for the query heads of KV head
    /// <paramref name="kvHead"/>: scores as rows (token, head in group) × positions, each key row read
    /// once for all rows that see it, then each row's softmax, then each value row read once.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Tile(ForwardBatch batch, int layer, float[] q, float* output, int first, int count, int kvHead)
    {
        var headDim = config.HeadDim;
        var queryDim = config.QueryDim;
        var group = config.Heads / config.KvHeads;
        var scale = 1f / MathF.Sqrt(headDim);
        var positions = batch.Positions.Slice(first, count);
        var table = batch.BlockTables[batch.SequenceOf[first]];
        var last = 0;
        foreach (var p in positions)
        {
            last = Math.Max(last, p);
        }

        var span = last + 1;
        kv.CheckBlocks(table, span);
        var rows = count * group;
        if (t_scores is null || t_scores.Length < rows * span)
        {
            t_scores = new float[Math.Max(rows * span, 1024)];
        }

        // The group's query heads are adjacent: head kvHead·group + g starts at (kvHead·group + g)·head_dim.
        var headOffset = kvHead * group * headDim;
        var kvOffset = kvHead * headDim;
        fixed (float* queries = q, scores = t_scores)
        {
            if (rows == 1)
            {
                // One row (a decode token of a model whose KV heads are not shared): no other row
                // shares these key and value rows, so the row takes two positions per step for its
                // scores (two independent sums in flight, one query load for both) and sums its
                // output 64 floats at a time over all positions in eight locals, one pass over the
                // values per 64 floats instead of a call and a result round trip per position.
                var lone = new Span<float>(scores, span);
                SingleRowScores(queries + (first * queryDim) + headOffset, new KvRows(kv, layer, table, kvOffset, values: false), scale, scores, span);
                TensorPrimitives.SoftMax(lone, lone);
                SingleRowValues(layer, table, kvOffset, scores, span, output + (first * queryDim) + headOffset);
                return;
            }

            var keys = new KvRows(kv, layer, table, kvOffset, values: false);
            for (var t = 0; t < span; t++)
            {
                var key = keys.Next();
                for (var j = 0; j < count; j++)
                {
                    if (positions[j] < t)
                    {
                        continue;
                    }

                    var query = queries + ((first + j) * queryDim) + headOffset;
                    for (var g = 0; g < group; g++)
                    {
                        scores[(((j * group) + g) * span) + t] = Dot(query + (g * headDim), key, headDim) * scale;
                    }
                }
            }

            for (var r = 0; r < rows; r++)
            {
                var row = new Span<float>(scores + (r * span), positions[r / group] + 1);
                TensorPrimitives.SoftMax(row, row);
            }

            for (var j = 0; j < count; j++)
            {
                new Span<float>(output + ((first + j) * queryDim) + headOffset, group * headDim).Clear();
            }

            var values = new KvRows(kv, layer, table, kvOffset, values: true);
            for (var t = 0; t < span; t++)
            {
                var value = values.Next();
                for (var j = 0; j < count; j++)
                {
                    if (positions[j] < t)
                    {
                        continue;
                    }

                    var result = output + ((first + j) * queryDim) + headOffset;
                    for (var g = 0; g < group; g++)
                    {
                        Accumulate(result + (g * headDim), value, scores[(((j * group) + g) * span) + t], headDim);
                    }
                }
            }
        }
    }

    /// <summary>
    /// Attention of the lone token <paramref name="token"/> (a decode step's) for the adjacent heads
    /// firstHead..firstHead+heads−1 of a model whose KV heads are not shared: one pass over the
    /// positions for the scores of all these heads, reading each key row's run of heads·head_dim
    /// floats at once (all heads: whole rows, which follow each other within a block, so the reads
    /// stream), then one pass per 256 floats of the value rows. A head at a time walks the sequence
    /// once per head, 256 bytes 3 KiB apart per position at the 110M model's shape, which the
    /// hardware prefetchers do not follow. Each head's arithmetic is the one-row path's
    /// (<see cref="Dot"/> per position, the same softmax, values summed from 0 in position order as a
    /// multiply then an add per element), so the bits equal it.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void SingleTokenHeads(ForwardBatch batch, int layer, float[] q, float* output, int token, int firstHead, int heads)
    {
        var headDim = config.HeadDim;
        var scale = 1f / MathF.Sqrt(headDim);
        var span = batch.Positions[token] + 1;
        var table = batch.BlockTables[batch.SequenceOf[token]];
        kv.CheckBlocks(table, span);
        var rows = heads * span;
        if (t_scores is null || t_scores.Length < rows)
        {
            t_scores = new float[Math.Max(rows, 1024)];
        }

        var offset = firstHead * headDim;
        fixed (float* queries = q, scores = t_scores)
        {
            var query = queries + (token * config.QueryDim) + offset;
            var keys = new KvRows(kv, layer, table, offset, values: false);
            for (var t = 0; t < span; t++)
            {
                var key = keys.Next();
                for (var h = 0; h < heads; h++)
                {
                    scores[(h * span) + t] = Dot(query + (h * headDim), key + (h * headDim), headDim) * scale;
                }
            }

            for (var h = 0; h < heads; h++)
            {
                var row = new Span<float>(scores + (h * span), span);
                TensorPrimitives.SoftMax(row, row);
            }

            // The values in runs of up to 256 floats (sixteen 512-bit accumulators), one pass each;
            // 64-float quarter i of a run belongs to its head i·64 / head_dim.
            var perRun = 256 / headDim;
            for (var h = 0; h < heads; h += perRun)
            {
                var w = scores + (h * span);
                float* w0 = w, w1 = w + (64 / headDim * span), w2 = w + (128 / headDim * span), w3 = w + (192 / headDim * span);
                var values = new KvRows(kv, layer, table, offset + (h * headDim), values: true);
                var result = output + (token * config.QueryDim) + offset + (h * headDim);
                switch (Math.Min(perRun, heads - h) * headDim / 64)
                {
                    case 1:
                        WeightedValues<One>(values, w0, w1, w2, w3, span, result);
                        break;
                    case 2:
                        WeightedValues<Two>(values, w0, w1, w2, w3, span, result);
                        break;
                    case 3:
                        WeightedValues<Three>(values, w0, w1, w2, w3, span, result);
                        break;
                    default:
                        WeightedValues<Four>(values, w0, w1, w2, w3, span, result);
                        break;
                }
            }
        }
    }

    /// <summary>
    /// result[0..64·Q) = Σ_t w_i[t] · value_t over positions 0..span−1, quarter i of 64 floats weighted
    /// by <paramref name="w0"/>..<paramref name="w3"/>; sixteen 512-bit accumulators at most, each element
    /// formed as <see cref="Accumulate"/> forms it (from 0, a multiply then an add per position, in
    /// position order). <typeparamref name="TQuarters"/> fixes Q, so the JIT drops the unused quarters.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void WeightedValues<TQuarters>(KvRows values, float* w0, float* w1, float* w2, float* w3, int span, float* result)
        where TQuarters : struct, IStaticCount
    {
        Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
        Vector512<float> b0 = default, b1 = default, b2 = default, b3 = default;
        Vector512<float> c0 = default, c1 = default, c2 = default, c3 = default;
        Vector512<float> d0 = default, d1 = default, d2 = default, d3 = default;
        for (var t = 0; t < span; t++)
        {
            var v = values.Next();
            var w = Vector512.Create(w0[t]);
            a0 = (Vector512.Load(v) * w) + a0;
            a1 = (Vector512.Load(v + 16) * w) + a1;
            a2 = (Vector512.Load(v + 32) * w) + a2;
            a3 = (Vector512.Load(v + 48) * w) + a3;
            if (TQuarters.Count > 1)
            {
                w = Vector512.Create(w1[t]);
                b0 = (Vector512.Load(v + 64) * w) + b0;
                b1 = (Vector512.Load(v + 80) * w) + b1;
                b2 = (Vector512.Load(v + 96) * w) + b2;
                b3 = (Vector512.Load(v + 112) * w) + b3;
            }

            if (TQuarters.Count > 2)
            {
                w = Vector512.Create(w2[t]);
                c0 = (Vector512.Load(v + 128) * w) + c0;
                c1 = (Vector512.Load(v + 144) * w) + c1;
                c2 = (Vector512.Load(v + 160) * w) + c2;
                c3 = (Vector512.Load(v + 176) * w) + c3;
            }

            if (TQuarters.Count > 3)
            {
                w = Vector512.Create(w3[t]);
                d0 = (Vector512.Load(v + 192) * w) + d0;
                d1 = (Vector512.Load(v + 208) * w) + d1;
                d2 = (Vector512.Load(v + 224) * w) + d2;
                d3 = (Vector512.Load(v + 240) * w) + d3;
            }
        }

        a0.Store(result);
        a1.Store(result + 16);
        a2.Store(result + 32);
        a3.Store(result + 48);
        if (TQuarters.Count > 1)
        {
            b0.Store(result + 64);
            b1.Store(result + 80);
            b2.Store(result + 96);
            b3.Store(result + 112);
        }

        if (TQuarters.Count > 2)
        {
            c0.Store(result + 128);
            c1.Store(result + 144);
            c2.Store(result + 160);
            c3.Store(result + 176);
        }

        if (TQuarters.Count > 3)
        {
            d0.Store(result + 192);
            d1.Store(result + 208);
            d2.Store(result + 224);
            d3.Store(result + 240);
        }
    }

    /// <summary>
    /// scores[t] = <see cref="Dot"/>(query, key_t) · scale for positions 0..span−1 of one row, two
    /// positions per step through <see cref="Dot2"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void SingleRowScores(float* query, KvRows keys, float scale, float* scores, int span)
    {
        var t = 0;
        for (; t + 2 <= span; t += 2)
        {
            var k0 = keys.Next();
            var (s0, s1) = Dot2(query, k0, keys.Next(), config.HeadDim);
            scores[t] = s0 * scale;
            scores[t + 1] = s1 * scale;
        }

        if (t < span)
        {
            scores[t] = Dot(query, keys.Next(), config.HeadDim) * scale;
        }
    }

    /// <summary>
    /// result = Σ_t weights[t] · value_t over positions 0..span−1 for one row, each element formed exactly as
    /// <see cref="Accumulate"/> forms it (from 0, a multiply then an add per position, in position order),
    /// 64 floats at a time in eight locals; the rest of a head past the last 64 goes through
    /// <see cref="Accumulate"/> itself. No call sits in the loop (<see cref="KvRows.Next"/> reads the
    /// block table directly), so the eight can stay in registers.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void SingleRowValues(int layer, int[] table, int kvOffset, float* weights, int span, float* result)
    {
        var headDim = config.HeadDim;
        var c = 0;
        for (; c + (8 * Vector256<float>.Count) <= headDim; c += 8 * Vector256<float>.Count)
        {
            Vector256<float> r0 = default, r1 = default, r2 = default, r3 = default, r4 = default, r5 = default, r6 = default, r7 = default;
            var values = new KvRows(kv, layer, table, kvOffset + c, values: true);
            for (var t = 0; t < span; t++)
            {
                var value = values.Next();
                var w = Vector256.Create(weights[t]);
                r0 = (Vector256.Load(value) * w) + r0;
                r1 = (Vector256.Load(value + 8) * w) + r1;
                r2 = (Vector256.Load(value + 16) * w) + r2;
                r3 = (Vector256.Load(value + 24) * w) + r3;
                r4 = (Vector256.Load(value + 32) * w) + r4;
                r5 = (Vector256.Load(value + 40) * w) + r5;
                r6 = (Vector256.Load(value + 48) * w) + r6;
                r7 = (Vector256.Load(value + 56) * w) + r7;
            }

            Vector256.Store(r0, result + c);
            Vector256.Store(r1, result + c + 8);
            Vector256.Store(r2, result + c + 16);
            Vector256.Store(r3, result + c + 24);
            Vector256.Store(r4, result + c + 32);
            Vector256.Store(r5, result + c + 40);
            Vector256.Store(r6, result + c + 48);
            Vector256.Store(r7, result + c + 56);
        }

        if (c < headDim)
        {
            new Span<float>(result + c, headDim - c).Clear();
            var values = new KvRows(kv, layer, table, kvOffset + c, values: true);
            for (var t = 0; t < span; t++)
            {
                Accumulate(result + c, values.Next(), weights[t], headDim - c);
            }
        }
    }

    /// <summary>x · y over n floats: 8-wide products summed per lane, the lanes summed, then the tail in order.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Dot(float* x, float* y, int n)
    {
        var i = 0;
        var sum = 0f;
        if (n >= Vector256<float>.Count)
        {
            var lanes = Vector256<float>.Zero;
            for (; i <= n - Vector256<float>.Count; i += Vector256<float>.Count)
            {
                lanes += Vector256.Load(x + i) * Vector256.Load(y + i);
            }

            sum = Vector256.Sum(lanes);
        }

        for (; i < n; i++)
        {
            sum += x[i] * y[i];
        }

        return sum;
    }

    /// <summary>
    /// (x · y0, x · y1): each formed exactly as <see cref="Dot"/> forms it, the two chains side by side
    /// sharing each load of x, so neither waits on the other's adds.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (float, float) Dot2(float* x, float* y0, float* y1, int n)
    {
        var i = 0;
        float sum0 = 0f, sum1 = 0f;
        if (n >= Vector256<float>.Count)
        {
            Vector256<float> lanes0 = Vector256<float>.Zero, lanes1 = Vector256<float>.Zero;
            for (; i <= n - Vector256<float>.Count; i += Vector256<float>.Count)
            {
                var v = Vector256.Load(x + i);
                lanes0 += v * Vector256.Load(y0 + i);
                lanes1 += v * Vector256.Load(y1 + i);
            }

            sum0 = Vector256.Sum(lanes0);
            sum1 = Vector256.Sum(lanes1);
        }

        for (; i < n; i++)
        {
            sum0 += x[i] * y0[i];
            sum1 += x[i] * y1[i];
        }

        return (sum0, sum1);
    }

    /// <summary>
    /// A sequence's key (or value) rows at positions 0, 1, 2, … in turn, from <paramref name="offset"/>
    /// floats into each row. Rows within a block are kv_dim apart, so the block table is read once per
    /// block, not per position, and read directly: the caller has checked the table once
    /// (<see cref="CpuKvCache.CheckBlocks"/>), so no call (whose throws would keep it out of line, and
    /// which would make the JIT keep the caller's vector accumulators in stack slots across it) sits
    /// in the loop.
    /// </summary>
    private struct KvRows(CpuKvCache kv, int layer, int[] table, int offset, bool values)
    {
        private readonly float* _pool = kv.Pool(layer, values) + offset;
        private readonly nint _blockStride = kv.BlockStride;
        private readonly int _blockSize = kv.Geometry.BlockSize;
        private readonly int _rowStride = kv.RowStride;
        private int _block;
        private int _slot = kv.Geometry.BlockSize;
        private float* _row;

        /// <summary>The row of the next position.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public float* Next()
        {
            if (_slot == _blockSize)
            {
                _row = _pool + ((nint)table[_block++] * _blockStride);
                _slot = 0;
            }
            else
            {
                _row += _rowStride;
            }

            _slot++;
            return _row;
        }
    }

    /// <summary>result += weight · value over n floats (a multiply then an add, not fused, as TensorPrimitives.MultiplyAdd).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Accumulate(float* result, float* value, float weight, int n)
    {
        var i = 0;
        var w = Vector256.Create(weight);
        for (; i <= n - Vector256<float>.Count; i += Vector256<float>.Count)
        {
            Vector256.Store((Vector256.Load(value + i) * w) + Vector256.Load(result + i), result + i);
        }

        for (; i < n; i++)
        {
            result[i] = (value[i] * weight) + result[i];
        }
    }

    /// <summary>
    /// The loop this class replaced, kept as the benchmarks' baseline: one item per (token, head), each
    /// re-reading the whole context with TensorPrimitives calls on head_dim floats.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void PerToken(ForwardBatch batch, int layer, float[] q, float* output, long work)
    {
        var c = config;
        var headDim = c.HeadDim;
        var groupSize = c.Heads / c.KvHeads;
        var scale = 1f / MathF.Sqrt(headDim);
        parallel.For(batch.Count * c.Heads, work, (item, scratch) =>
        {
            var i = item / c.Heads;
            var h = item % c.Heads;
            var position = batch.Positions[i];
            var table = batch.BlockTables[batch.SequenceOf[i]];
            var query = q.AsSpan((i * c.QueryDim) + (h * headDim), headDim);
            var kvOffset = h / groupSize * headDim;
            var scores = scratch[..(position + 1)];
            for (var t = 0; t <= position; t++)
            {
                var key = new ReadOnlySpan<float>(kv.Key(layer, table, t) + kvOffset, headDim);
                scores[t] = TensorPrimitives.Dot(query, key) * scale;
            }

            TensorPrimitives.SoftMax(scores, scores);
            var result = new Span<float>(output + (i * c.QueryDim) + (h * headDim), headDim);
            result.Clear();
            for (var t = 0; t <= position; t++)
            {
                var value = new ReadOnlySpan<float>(kv.Value(layer, table, t) + kvOffset, headDim);
                TensorPrimitives.MultiplyAdd(value, scores[t], result, result);
            }
        });
    }
}
