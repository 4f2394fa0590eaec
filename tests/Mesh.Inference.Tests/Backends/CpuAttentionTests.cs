using Mesh.Inference.Backends;
using Mesh.Inference.Backends.Cpu;
using Mesh.Inference.Models;

namespace Mesh.Inference.Tests.Backends;

/// <summary>
/// The CPU attention takes a sequence's consecutive tokens together (a prefill chunk, a verify step's
/// token and drafts). A token's output must not depend on that: it must equal, bit for bit, the output
/// of the same query alone in a batch, for every thread count — what batch-composition independence
/// and speculative decoding's identical output rest on — and be attention (a double-precision
/// reference).
/// </summary>
[Collection(SerialCollection.Name)]
public sealed unsafe class CpuAttentionTests
{
    private const int BlockSize = 4;

    public static TheoryData<string, int, int, int> Shapes => new()
    {
        { "GQA, stories260K's shape", 8, 4, 8 },
        { "GQA, group of 4", 8, 2, 16 },
        { "MHA", 4, 4, 16 },
        { "MHA, head_dim not a multiple of 8", 2, 2, 12 },
        { "MHA, head_dim 64: a lone row's output in registers", 2, 2, 64 },
        { "MHA, head_dim 136: two register passes and a tail", 2, 2, 136 },
        { "MHA, 7 heads of 64: a decode token's values taken 4 heads, then 3, at a time", 7, 7, 64 },
        { "MHA, 6 heads of 64: a decode token's values taken 4 heads, then 2", 6, 6, 64 },
        { "MHA, 5 heads of 64: a decode token's values taken 4 heads, then 1", 5, 5, 64 },
        { "MHA, 5 heads of 128: a decode token's values taken 2 heads at a time, then 1", 5, 5, 128 },
    };

    [Theory]
    [MemberData(nameof(Shapes))]
    public void A_token_in_a_multi_token_run_gets_exactly_its_output_alone(string shape, int heads, int kvHeads, int headDim)
    {
        var config = new LlamaConfig(heads * headDim, 16, 1, heads, kvHeads, 16, 128, 1e-5f, 10000f);
        using var kv = new CpuKvCache(1, config.KvDim, new KvCacheGeometry(BlockSize, 64));
        var random = new Random(heads * 1000 + kvHeads * 100 + headDim);

        // Three sequences in scattered blocks, their caches filled up to the last position used below.
        int[][] tables = [[9, 3, 40, 41, 7], [0, 1, 2, 5, 6, 8, 10, 11, 12, 13], [20, 22, 24, 26, 28, 30, 32, 34, 36, 38]];
        foreach (var table in tables)
        {
            for (var t = 0; t < table.Length * BlockSize; t++)
            {
                Fill(kv.Key(0, table, t), config.KvDim, random);
                Fill(kv.Value(0, table, t), config.KvDim, random);
            }
        }

        // Runs not starting at position 0 and crossing blocks: sequence 0 at 5..11, sequence 1 alone at 30,
        // sequence 2 at 17..36 (longer than a tile), then sequence 0 again at 12..13.
        var tokens = new List<(int Sequence, int Position)>();
        tokens.AddRange(Enumerable.Range(5, 7).Select(p => (0, p)));
        tokens.Add((1, 30));
        tokens.AddRange(Enumerable.Range(17, 20).Select(p => (2, p)));
        tokens.AddRange(Enumerable.Range(12, 2).Select(p => (0, p)));
        var queries = new float[tokens.Count * config.QueryDim];
        fixed (float* q = queries)
        {
            Fill(q, queries.Length, random);
        }

        var batch = new ForwardBatch();
        foreach (var table in tables)
        {
            batch.AddSequence(table);
        }

        foreach (var (sequence, position) in tokens)
        {
            batch.AddToken(sequence, 0, position, wantLogits: false);
        }

        var together = Attend(config, kv, batch, queries, threads: 1);
        foreach (var threads in new[] { 2, 3, 8 })
        {
            Assert.Equal(together, Attend(config, kv, batch, queries, threads));
        }

        for (var i = 0; i < tokens.Count; i++)
        {
            var (sequence, position) = tokens[i];
            var alone = new ForwardBatch();
            alone.AddToken(alone.AddSequence(tables[sequence]), 0, position, wantLogits: false);
            var query = queries.AsSpan(i * config.QueryDim, config.QueryDim).ToArray();
            var output = Attend(config, kv, alone, query, threads: 1);
            var row = together.AsSpan(i * config.QueryDim, config.QueryDim).ToArray();
            Assert.True(output.SequenceEqual(row), $"{shape}: token {i} (sequence {sequence}, position {position}) differs from its output alone");

            var reference = Reference(config, kv, tables[sequence], position, query);
            for (var k = 0; k < row.Length; k++)
            {
                Assert.True(Math.Abs(row[k] - reference[k]) < 1e-5, $"{shape}: token {i}, element {k}: {row[k]} vs reference {reference[k]}");
            }
        }
    }

    /// <summary>
    /// A decode step: many sequences, one token each. Their heads are then taken several to a work
    /// item (how many depends on the token and thread counts); each token's output must still equal,
    /// bit for bit, its output alone, and be attention.
    /// </summary>
    [Theory]
    [MemberData(nameof(Shapes))]
    public void Every_token_of_a_decode_step_gets_exactly_its_output_alone(string shape, int heads, int kvHeads, int headDim)
    {
        var config = new LlamaConfig(heads * headDim, 16, 1, heads, kvHeads, 16, 128, 1e-5f, 10000f);
        using var kv = new CpuKvCache(1, config.KvDim, new KvCacheGeometry(BlockSize, 64));
        var random = new Random((heads * 1000) + (kvHeads * 100) + headDim + 7);
        int[][] tables = [[9, 3, 40, 41, 7], [0, 1, 2, 5, 6, 8, 10, 11, 12, 13], [20, 22, 24, 26, 28, 30, 32, 34, 36, 38]];
        foreach (var table in tables)
        {
            for (var t = 0; t < table.Length * BlockSize; t++)
            {
                Fill(kv.Key(0, table, t), config.KvDim, random);
                Fill(kv.Value(0, table, t), config.KvDim, random);
            }
        }

        // Ten decode tokens over the three caches, at positions inside and at the ends of blocks.
        (int Table, int Position)[] tokens = [(0, 19), (1, 0), (2, 39), (0, 3), (1, 17), (2, 8), (0, 12), (1, 36), (2, 4), (1, 25)];
        var queries = new float[tokens.Length * config.QueryDim];
        fixed (float* q = queries)
        {
            Fill(q, queries.Length, random);
        }

        var batch = new ForwardBatch();
        foreach (var (table, position) in tokens)
        {
            batch.AddToken(batch.AddSequence(tables[table]), 0, position, wantLogits: false);
        }

        var step = Attend(config, kv, batch, queries, threads: 1);
        foreach (var threads in new[] { 2, 3, 8 })
        {
            Assert.Equal(step, Attend(config, kv, batch, queries, threads));
        }

        for (var i = 0; i < tokens.Length; i++)
        {
            var (table, position) = tokens[i];
            var alone = new ForwardBatch();
            alone.AddToken(alone.AddSequence(tables[table]), 0, position, wantLogits: false);
            var query = queries.AsSpan(i * config.QueryDim, config.QueryDim).ToArray();
            var row = step.AsSpan(i * config.QueryDim, config.QueryDim).ToArray();
            Assert.True(Attend(config, kv, alone, query, threads: 1).SequenceEqual(row), $"{shape}: token {i} (position {position}) differs from its output alone");
            var reference = Reference(config, kv, tables[table], position, query);
            for (var k = 0; k < row.Length; k++)
            {
                Assert.True(Math.Abs(row[k] - reference[k]) < 1e-5, $"{shape}: token {i}, element {k}: {row[k]} vs reference {reference[k]}");
            }
        }
    }

    public static TheoryData<int, int, int> DecodeShapes => new()
    {
        { 7, 7, 64 },
        { 6, 6, 128 },
        { 3, 3, 136 },
        { 8, 2, 128 },
        { 8, 8, 64 },
    };

    /// <summary>
    /// A decode step of one to three lone tokens over long, scattered block tables (64 blocks in a
    /// shuffled order, contexts of 1, a block boundary and the whole table) at 1, 2, 3, 5 and 8
    /// threads: each thread count groups a token's heads differently (all in one item, a few per item,
    /// more threads than items), and every grouping gives the bits of one head per item and of the
    /// token alone, and attention.
    /// </summary>
    [Theory]
    [MemberData(nameof(DecodeShapes))]
    public void Lone_decode_tokens_get_the_same_bits_however_their_heads_are_grouped(int heads, int kvHeads, int headDim)
    {
        const int blocks = 64;
        var config = new LlamaConfig(heads * headDim, 16, 1, heads, kvHeads, 16, blocks * BlockSize, 1e-5f, 10000f);
        using var kv = new CpuKvCache(1, config.KvDim, new KvCacheGeometry(BlockSize, blocks + 6));
        var random = new Random((heads * 100) + headDim);
        var table = Enumerable.Range(0, blocks + 6).OrderBy(_ => random.Next()).Take(blocks).ToArray();
        for (var t = 0; t < blocks * BlockSize; t++)
        {
            Fill(kv.Key(0, table, t), config.KvDim, random);
            Fill(kv.Value(0, table, t), config.KvDim, random);
        }

        int[][] steps = [[0], [BlockSize - 1], [BlockSize], [(blocks * BlockSize) - 1], [0, (blocks * BlockSize) - 1], [BlockSize, 37, 200]];
        foreach (var positions in steps)
        {
            var queries = new float[positions.Length * config.QueryDim];
            fixed (float* q = queries)
            {
                Fill(q, queries.Length, random);
            }

            var batch = new ForwardBatch();
            foreach (var position in positions)
            {
                batch.AddToken(batch.AddSequence(table), 0, position, wantLogits: false);
            }

            var before = CpuAttention.GroupLoneTokenHeads;
            float[] oneHeadPerItem;
            try
            {
                CpuAttention.GroupLoneTokenHeads = false;
                oneHeadPerItem = Attend(config, kv, batch, queries, threads: 1);
            }
            finally
            {
                CpuAttention.GroupLoneTokenHeads = before;
            }

            foreach (var threads in new[] { 1, 2, 3, 5, 8 })
            {
                Assert.True(
                    Attend(config, kv, batch, queries, threads).SequenceEqual(oneHeadPerItem),
                    $"{heads}/{kvHeads} heads of {headDim}, positions [{string.Join(", ", positions)}], {threads} threads: differs from one head per item");
            }

            for (var i = 0; i < positions.Length; i++)
            {
                var query = queries.AsSpan(i * config.QueryDim, config.QueryDim).ToArray();
                var row = oneHeadPerItem.AsSpan(i * config.QueryDim, config.QueryDim).ToArray();
                var alone = new ForwardBatch();
                alone.AddToken(alone.AddSequence(table), 0, positions[i], wantLogits: false);
                Assert.True(Attend(config, kv, alone, query, threads: 3).SequenceEqual(row), $"position {positions[i]}: differs from the token alone");
                var reference = Reference(config, kv, table, positions[i], query);
                for (var k = 0; k < row.Length; k++)
                {
                    Assert.True(Math.Abs(row[k] - reference[k]) < 1e-5, $"position {positions[i]}, element {k}: {row[k]} vs reference {reference[k]}");
                }
            }
        }
    }

    /// <summary>
    /// The walkers index the pool directly once <see cref="CpuKvCache.CheckBlocks"/> has passed a table:
    /// a table with a block id outside the pool, or too short for the position, must stop the step with
    /// the cache's error (on the caller's thread, at every thread count) for a lone decode token (its
    /// heads grouped), a multi-token run and GQA alike, never read outside the pool.
    /// </summary>
    [Theory]
    [InlineData(4, 4, 64, 1)]
    [InlineData(4, 4, 64, 3)]
    [InlineData(4, 4, 64, 5)]
    [InlineData(8, 2, 16, 2)]
    public void A_bad_block_table_fails_the_step_with_the_caches_error(int heads, int kvHeads, int headDim, int threads)
    {
        var config = new LlamaConfig(heads * headDim, 16, 1, heads, kvHeads, 16, 64, 1e-5f, 10000f);
        using var kv = new CpuKvCache(1, config.KvDim, new KvCacheGeometry(BlockSize, 16));
        (int[] Table, int[] Positions, string Message)[] cases =
        [
            ([3, 16], [5], "KV block id 16 is outside the pool of 16"),
            ([3, -1], [4], "KV block id -1 is outside the pool of 16"),
            ([3, 1_000_000], [6, 7], "KV block id 1000000 is outside the pool of 16"),
            ([3], [4], "position 4 is beyond the sequence's 1 KV blocks"),
            ([2, 5], [1, 2, 8], "position 8 is beyond the sequence's 2 KV blocks"),
        ];
        foreach (var (table, positions, message) in cases)
        {
            var batch = new ForwardBatch();
            var sequence = batch.AddSequence(table);
            foreach (var position in positions)
            {
                batch.AddToken(sequence, 0, position, wantLogits: false);
            }

            var queries = new float[positions.Length * config.QueryDim];
            var e = Assert.Throws<InvalidOperationException>(() => Attend(config, kv, batch, queries, threads));
            Assert.Equal(message, e.Message);
        }
    }

    private static float[] Attend(LlamaConfig config, CpuKvCache kv, ForwardBatch batch, float[] queries, int threads)
    {
        var attention = new CpuAttention(config, kv, new CpuParallel(threads, config.ContextLength), perToken: false);
        var output = new float[batch.Count * config.QueryDim];
        fixed (float* o = output)
        {
            attention.Run(batch, 0, queries, o);
        }

        return output;
    }

    /// <summary>softmax(q·kᵀ/√d)·V over positions 0..position, in double, per query head.</summary>
    private static double[] Reference(LlamaConfig config, CpuKvCache kv, int[] table, int position, float[] query)
    {
        var d = config.HeadDim;
        var output = new double[config.QueryDim];
        for (var h = 0; h < config.Heads; h++)
        {
            var kvHead = h / (config.Heads / config.KvHeads);
            var scores = new double[position + 1];
            for (var t = 0; t <= position; t++)
            {
                var key = kv.Key(0, table, t) + (kvHead * d);
                for (var k = 0; k < d; k++)
                {
                    scores[t] += query[(h * d) + k] * (double)key[k];
                }

                scores[t] /= Math.Sqrt(d);
            }

            var max = scores.Max();
            var weights = scores.Select(s => Math.Exp(s - max)).ToArray();
            var sum = weights.Sum();
            for (var t = 0; t <= position; t++)
            {
                var value = kv.Value(0, table, t) + (kvHead * d);
                for (var k = 0; k < d; k++)
                {
                    output[(h * d) + k] += weights[t] / sum * value[k];
                }
            }
        }

        return output;
    }

    private static void Fill(float* row, int length, Random random)
    {
        for (var i = 0; i < length; i++)
        {
            row[i] = (float)((random.NextDouble() * 4) - 2);
        }
    }
}
