using System.Runtime.InteropServices;
using Mesh.Kernels;
using Mesh.Kernels.Driver;
using Mesh.Kernels.Launch;
using Mesh.Kernels.Layout;
using Mesh.Kernels.Reference;
using Mesh.Kernels.Sampling;
using static Mesh.GpuCheck.DeviceData;

namespace Mesh.GpuCheck;

/// <summary>
/// Runs every kernel once on fresh random inputs with NaN-poisoned outputs and compares with
/// <see cref="ReferenceKernels"/> by relative error (thresholds per precision: f32 paths 1e-5,
/// ex2.approx paths 1e-4, bf16/f16 tensor-core products 1e-3 of inputs already rounded).
/// </summary>
internal sealed class KernelChecks(CudaKernels kernels, Random random)
{
    public List<CorrectnessResult> Results { get; } = [];

    public void RunAll()
    {
        ElementWise();
        RmsNorm();
        Rope();
        Embedding();
        KvAppendAndAttention(tokens: 1, heads: 32, kvHeads: 8, headDim: 64, lengths: [1, 300, 4096, 77]);
        KvAppendAndAttention(tokens: 1, heads: 8, kvHeads: 8, headDim: 128, lengths: [513]);
        AttentionPrefill(tokens: 200, heads: 8, kvHeads: 2);
        AttentionPrefill(tokens: 64, heads: 4, kvHeads: 4);
        foreach (var format in Enum.GetValues<WeightFormat>())
        {
            MatVec(format, n: 2048 + 8 * 3, k: 2048, rows: 1);
            MatVec(format, n: 1000, k: 512, rows: 7);
        }
        foreach (var format in Enum.GetValues<BlockQuantFormat>())
        {
            MatVecQuant(format, n: 2048 + 8 * 3, k: 2048, rows: 1);
            MatVecQuant(format, n: 1000, k: 4096 + 256, rows: 3);
        }
        foreach (var format in new[] { BlockQuantFormat.Q8_0, BlockQuantFormat.Q4_0 })
        {
            MatMulQuant(format, m: 300, n: 520, k: 256); // partial tiles in M and N
            MatMulQuant(format, m: 64, n: 2048, k: 2048);
        }
        MatMul(WeightFormat.BF16, 300, 520, 256);
        MatMul(WeightFormat.F16, 128, 128, 64);
        MatMul(WeightFormat.BF16, 1024, 1024, 1024);
        if (kernels.HasHopperKernels)
        {
            MatMulHopper(300, 520, 256);
            MatMulHopper(1024, 1024, 1024);
        }
        Sampling();
    }

    private void Record(string kernel, string shape, float[] output, float[] reference, double threshold, string note = "")
    {
        var error = RelativeError(output, reference);
        var written = AllWritten(output);
        Results.Add(new CorrectnessResult(kernel, shape, error, threshold, written, written && error <= threshold, note));
    }

    private void ElementWise()
    {
        const int n = 1 << 20;
        var y = RandomFloats(random, n);
        var x = RandomFloats(random, n);
        using (var dy = Upload(y))
        using (var dx = Upload(x))
        {
            kernels.ResidualAdd(dy, dx, n, null);
            var expected = (float[])y.Clone();
            ReferenceKernels.ResidualAdd(expected, x);
            Record("residual_add_f32", $"n={n}", Download(dy, n), expected, 1e-6);
        }

        var gate = RandomFloats(random, n, 8);
        var up = RandomFloats(random, n);
        using (var dg = Upload(gate))
        using (var du = Upload(up))
        using (var dout = Poisoned(n))
        {
            kernels.SwiGlu(dout, dg, du, n, null);
            var expected = new float[n];
            ReferenceKernels.SwiGlu(expected, gate, up);
            Record("swiglu_f32", $"n={n}", Download(dout, n), expected, 1e-5);
        }

        foreach (var format in new[] { WeightFormat.BF16, WeightFormat.F16 })
        {
            using var dx = Upload(x);
            using var dout = DeviceBuffer.Allocate<ushort>(n);
            dout.Fill32(Poison);
            kernels.Convert(dout, format, dx, n, null);
            var bits = new ushort[n];
            dout.CopyTo<ushort>(bits);
            var got = format == WeightFormat.BF16 ? FromBf16(bits) : bits.Select(b => (float)BitConverter.UInt16BitsToHalf(b)).ToArray();
            var expected = format == WeightFormat.BF16 ? FromBf16(ToBf16(x)) : x.Select(v => (float)(Half)v).ToArray();
            Record(format == WeightFormat.BF16 ? "convert_f32_bf16" : "convert_f32_f16", $"n={n}", got, expected, 0);
        }
    }

    private void RmsNorm()
    {
        const int rows = 37, dim = 2048;
        var x = RandomFloats(random, rows * dim, 3);
        var w = RandomFloats(random, dim);
        int[] pick = [36, 0, 5];
        using var dx = Upload(x);
        using var dw = Upload(w);
        using var dout = Poisoned(rows * dim);
        kernels.RmsNorm(dout, dx, dw, null, rows, dim, 1e-5f, null);
        var expected = new float[rows * dim];
        ReferenceKernels.RmsNorm(expected, x, w, rows, dim, 1e-5f);
        Record("rmsnorm_f32", $"{rows}x{dim}", Download(dout, rows * dim), expected, 1e-5);

        using var dpick = Upload(pick);
        using var dsel = Poisoned(pick.Length * dim);
        kernels.RmsNorm(dsel, dx, dw, dpick, pick.Length, dim, 1e-5f, null);
        var selected = new float[pick.Length * dim];
        ReferenceKernels.RmsNorm(selected, x, w, pick.Length, dim, 1e-5f, pick);
        Record("rmsnorm_f32 (row index)", $"{pick.Length} of {rows}x{dim}", Download(dsel, pick.Length * dim), selected, 1e-5);
    }

    private void Rope()
    {
        const int tokens = 9, heads = 32, headDim = 64, context = 4096;
        var width = heads * headDim;
        var (cos, sin) = ReferenceKernels.RopeTables(headDim, context, 500000f);
        var v = RandomFloats(random, tokens * width);
        var positions = Enumerable.Range(0, tokens).Select(_ => random.Next(context)).ToArray();
        using var dv = Upload(v);
        using var dp = Upload(positions);
        using var dc = Upload(cos);
        using var ds = Upload(sin);
        kernels.Rope(dv, dp, dc, ds, tokens, width, headDim, null);
        var expected = (float[])v.Clone();
        ReferenceKernels.Rope(expected, positions, cos, sin, width, headDim);
        Record("rope_f32", $"{tokens}x{heads}x{headDim}", Download(dv, tokens * width), expected, 1e-6);
    }

    private void Embedding()
    {
        const int vocab = 1000, dim = 512, tokens = 13;
        var ids = Enumerable.Range(0, tokens).Select(_ => random.Next(vocab)).ToArray();
        var values = RandomFloats(random, vocab * dim, 2);
        foreach (var format in Enum.GetValues<WeightFormat>())
        {
            var bytes = Encode(format, values, vocab, dim);
            var table = WeightDecoding.Decode(format, bytes, vocab, dim);
            var expected = ids.SelectMany(t => table.AsSpan(t * dim, dim).ToArray()).ToArray();
            using var dids = Upload(ids);
            using var dout = Poisoned(tokens * dim);
            var (data, scales) = UploadWeights(format, bytes, vocab, dim);
            using (data)
            using (scales)
            {
                kernels.Embedding(dout, format, data, scales, dids, tokens, dim, null);
                Record($"embedding_{Name(format)}", $"{tokens} of {vocab}x{dim}", Download(dout, tokens * dim), expected, 0);
            }
        }
    }

    private void KvAppendAndAttention(int tokens, int heads, int kvHeads, int headDim, int[] lengths)
    {
        _ = tokens;
        const int blockSize = 16;
        var blocksNeeded = lengths.Sum(l => (l + blockSize - 1) / blockSize);
        var layout = new BlockTableLayout(blockSize, blocksNeeded + 7, kvHeads, headDim);
        var kvDim = kvHeads * headDim;
        // Scatter each sequence over shuffled blocks.
        var free = Enumerable.Range(0, layout.BlockCount).OrderBy(_ => random.Next()).ToQueue();
        var tables = lengths.Select(l => Enumerable.Range(0, (l + blockSize - 1) / blockSize).Select(_ => free.Dequeue()).ToArray()).ToArray();
        var keyPool = new float[layout.FloatsPerPool];
        var valuePool = new float[layout.FloatsPerPool];
        using var dkp = Upload(keyPool);
        using var dvp = Upload(valuePool);

        // Append every position of every sequence through the kernel, one batch.
        var total = lengths.Sum();
        var k = RandomFloats(random, (long)total * kvDim);
        var v = RandomFloats(random, (long)total * kvDim);
        var slots = new int[total];
        var i = 0;
        for (var s = 0; s < lengths.Length; s++)
        {
            for (var p = 0; p < lengths[s]; p++)
            {
                slots[i++] = layout.PhysicalSlot(tables[s], p);
            }
        }
        using (var dk = Upload(k))
        using (var dv = Upload(v))
        using (var dslots = Upload(slots))
        {
            kernels.KvAppend(dkp, dvp, dk, dv, dslots, total, kvHeads, headDim, blockSize, null);
        }
        ReferenceKernels.KvAppend(keyPool, valuePool, k, v, slots, layout);
        Record("kv_append_f32", $"{total} tokens x {kvHeads}x{headDim}", Download(dkp, layout.FloatsPerPool), keyPool, 0, "keys pool");
        Record("kv_append_f32", $"{total} tokens x {kvHeads}x{headDim}", Download(dvp, layout.FloatsPerPool), valuePool, 0, "values pool");

        // One query per sequence at its last position, plus a middle position of the first.
        var tokenSeq = Enumerable.Range(0, lengths.Length).Append(0).ToArray();
        var tokenPos = lengths.Select(l => l - 1).Append(lengths[0] / 2).ToArray();
        var flat = BlockTableLayout.Flatten(tables, out var maxBlocks);
        var q = RandomFloats(random, (long)tokenSeq.Length * heads * headDim, 2);
        var scale = 1f / MathF.Sqrt(headDim);
        using var dq = Upload(q);
        using var dtables = Upload(flat);
        using var dseq = Upload(tokenSeq);
        using var dpos = Upload(tokenPos);
        using var dout = Poisoned(q.Length);
        kernels.Attention(dout, dq, dkp, dvp, dtables, dseq, dpos, tokenSeq.Length, heads, kvHeads, headDim, maxBlocks, blockSize, scale, null);
        var expected = new float[q.Length];
        ReferenceKernels.Attention(expected, q, keyPool, valuePool, flat, maxBlocks, tokenSeq, tokenPos, heads, layout, scale);
        Record("attention_decode_f32", $"{tokenSeq.Length} queries, {heads}/{kvHeads} heads x {headDim}, ctx {string.Join('/', lengths)}",
            Download(dout, q.Length), expected, 1e-4);

        // Flash-decoding on the same inputs: split pass against its reference, split + combine against plain attention.
        const int splitLength = 64;
        var splits = KernelShapes.FlashDecodeSplits(lengths.Max(), splitLength);
        using var dpartO = Poisoned((long)tokenSeq.Length * heads * splits * headDim);
        using var dpartMl = Poisoned((long)tokenSeq.Length * heads * splits * 2);
        using var dflash = Poisoned(q.Length);
        kernels.AttentionFlashDecode(dflash, dpartO, dpartMl, dq, dkp, dvp, dtables, dseq, dpos, tokenSeq.Length, heads, kvHeads, headDim, maxBlocks, blockSize, scale, splitLength, splits, null);
        var (partO, partMl) = FlashDecodingReference.Split(q, keyPool, valuePool, flat, maxBlocks, tokenSeq, tokenPos, heads, layout, scale, splitLength, splits);
        var shape = $"{tokenSeq.Length} queries, {heads}/{kvHeads} heads x {headDim}, ctx {string.Join('/', lengths)}, {splits} splits of {splitLength}";
        Record("attention_decode_split_f32", shape, Download(dpartO, partO.Length), partO, 1e-4, "partial outputs");
        Record("attention_decode_combine_f32", shape, Download(dflash, q.Length), expected, 1e-4, "split + combine vs unsplit attention");
    }

    private void AttentionPrefill(int tokens, int heads, int kvHeads)
    {
        const int headDim = 64;
        var q = ToBf16(RandomFloats(random, (long)tokens * heads * headDim, 2));
        var k = ToBf16(RandomFloats(random, (long)tokens * kvHeads * headDim, 2));
        var v = ToBf16(RandomFloats(random, (long)tokens * kvHeads * headDim));
        var scale = 1f / MathF.Sqrt(headDim);
        using var dq = Upload(q);
        using var dk = Upload(k);
        using var dv = Upload(v);
        using var dout = Poisoned(q.Length);
        kernels.AttentionPrefill(dout, dq, dk, dv, tokens, heads, kvHeads, headDim, scale, null);
        var expected = new float[q.Length];
        ReferenceKernels.CausalAttention(expected, FromBf16(q), FromBf16(k), FromBf16(v), tokens, heads, kvHeads, headDim, scale);
        // P is rounded to bf16 before P·V, as FlashAttention does: ~2^-8 relative per weight.
        Record("attention_prefill_bf16", $"{tokens} tokens, {heads}/{kvHeads} heads x {headDim}", Download(dout, q.Length), expected, 1e-2);
    }

    private void MatVec(WeightFormat format, int n, int k, int rows)
    {
        var values = RandomFloats(random, (long)n * k);
        var bytes = Encode(format, values, n, k);
        var w = WeightDecoding.Decode(format, bytes, n, k);
        var x = RandomFloats(random, (long)rows * k);
        var (data, scales) = UploadWeights(format, bytes, n, k);
        using (data)
        using (scales)
        using (var dx = Upload(x))
        using (var dy = Poisoned((long)rows * n))
        {
            kernels.MatVec(dy, format, data, scales, dx, rows, n, k, null);
            var expected = new float[rows * n];
            ReferenceKernels.MatMul(expected, w, x, rows, n, k);
            Record($"matvec_{Name(format)}", $"{rows}x{k} · {n}x{k}", Download(dy, (long)rows * n), expected, 1e-5);
        }
    }

    /// <summary>A GGML block-quantized matvec against its operation-for-operation CPU emulation (only fma contraction order may differ: 1e-5).</summary>
    private void MatVecQuant(BlockQuantFormat format, int n, int k, int rows)
    {
        var weights = QuantMatVecReference.RandomWeights(format, n, k, random);
        var x = RandomFloats(random, (long)rows * k);
        using var dw = Upload(weights);
        using var dx = Upload(x);
        using var dy = Poisoned((long)rows * n);
        kernels.MatVecQuant(dy, format, dw, dx, rows, n, k, null);
        var expected = new float[rows * n];
        QuantMatVecReference.MatVec(format, weights, x, expected, rows, n, k);
        Record(BlockQuantFormats.MatVecEntry(format), $"{rows}x{k} · {n}x{k}", Download(dy, (long)rows * n), expected, 1e-5);
    }

    /// <summary>The quantized prefill GEMM against its CPU emulation (same dequantized weights and fma order: exact, 1e-6 for safety).</summary>
    private void MatMulQuant(BlockQuantFormat format, int m, int n, int k)
    {
        var weights = QuantMatVecReference.RandomWeights(format, n, k, random);
        var a = RandomFloats(random, (long)m * k);
        using var dw = Upload(weights);
        using var da = Upload(a);
        using var dc = Poisoned((long)m * n);
        kernels.MatMulQuant(dc, format, dw, da, m, n, k, null);
        var expected = new float[m * n];
        QuantMatMulReference.MatMul(format, weights, a, expected, m, n, k);
        Record(BlockQuantFormats.MatMulEntry(format), $"{m}x{k} · {n}x{k}", Download(dc, (long)m * n), expected, 1e-6);
    }

    private void MatMul(WeightFormat format, int m, int n, int k)
    {
        var a = RandomFloats(random, (long)m * k);
        var b = RandomFloats(random, (long)n * k);
        float[] ar, br;
        DeviceBuffer da, db;
        if (format == WeightFormat.BF16)
        {
            var a16 = ToBf16(a);
            var b16 = ToBf16(b);
            (ar, br, da, db) = (FromBf16(a16), FromBf16(b16), Upload(a16), Upload(b16));
        }
        else
        {
            var a16 = ToF16(a);
            var b16 = ToF16(b);
            (ar, br, da, db) = (a16.Select(h => (float)h).ToArray(), b16.Select(h => (float)h).ToArray(), Upload(a16), Upload(b16));
        }
        using (da)
        using (db)
        using (var dc = Poisoned((long)m * n))
        {
            kernels.MatMul(dc, format, da, db, m, n, k, null);
            var expected = new float[m * n];
            ReferenceKernels.MatMul(expected, br, ar, m, n, k);
            Record($"matmul_{Name(format)}", $"{m}x{n}x{k}", Download(dc, (long)m * n), expected, 1e-5, "operands rounded before the reference");
        }
    }

    private void MatMulHopper(int m, int n, int k)
    {
        var a16 = ToBf16(RandomFloats(random, (long)m * k));
        var b16 = ToBf16(RandomFloats(random, (long)n * k));
        using var da = Upload(a16);
        using var db = Upload(b16);
        using var dc = Poisoned((long)m * n);
        kernels.MatMulHopper(dc, da, db, m, n, k, null);
        var expected = new float[m * n];
        ReferenceKernels.MatMul(expected, FromBf16(b16), FromBf16(a16), m, n, k);
        Record("matmul_wgmma_bf16", $"{m}x{n}x{k}", Download(dc, (long)m * n), expected, 1e-5, "wgmma + TMA, sm_90a");
    }

    private void Sampling()
    {
        const int rows = 64, vocab = 32000;
        var logits = RandomFloats(random, (long)rows * vocab, 6);
        var parameters = Enumerable.Range(0, rows).Select(r => r % 8 == 0
            ? SamplingRow.Greedy
            : new SamplingRow((float)(0.3 + random.NextDouble()), r % 3 == 0 ? 0u : (uint)random.Next(1, 200),
                r % 4 == 0 ? 1f : (float)(0.5 + random.NextDouble() * 0.5), r % 5 == 0 ? 0f : 0.05f, (ulong)random.NextInt64(), (uint)r)).ToArray();
        using var dl = Upload(logits);
        using var dp = Upload(parameters);
        using var dt = DeviceBuffer.Allocate<int>(rows);
        dt.Fill32(uint.MaxValue);
        kernels.Sample(dt, dl, dp, rows, vocab, null);
        var tokens = new int[rows];
        dt.CopyTo<int>(tokens);
        var matches = 0;
        var valid = true;
        var greedyOk = true;
        for (var r = 0; r < rows; r++)
        {
            var expected = SamplingReference.Sample(logits.AsSpan(r * vocab, vocab), parameters[r]);
            valid &= (uint)tokens[r] < vocab;
            if (tokens[r] == expected)
            {
                matches++;
            }
            else if (parameters[r].Temperature <= 0)
            {
                greedyOk = false;
            }
        }
        // Tokens may differ from the CPU only where ex2.approx moves a boundary: allow 1 in 32 rows.
        var passed = valid && greedyOk && matches >= rows - (rows / 32);
        Results.Add(new CorrectnessResult("sample_f32", $"{rows}x{vocab}", 1 - ((double)matches / rows), 1.0 / 32, valid, passed,
            $"{matches}/{rows} tokens equal to SamplingReference; greedy rows all equal: {greedyOk}"));
    }

    internal static string Name(WeightFormat format) => format switch
    {
        WeightFormat.F32 => "f32",
        WeightFormat.F16 => "f16",
        WeightFormat.BF16 => "bf16",
        _ => "q8_0",
    };

    /// <summary>Stores f32 values in a weight format's file encoding (GGML Q8_0 blocks for Q8_0).</summary>
    internal static byte[] Encode(WeightFormat format, float[] values, int rows, int cols)
    {
        _ = rows;
        _ = cols;
        return format switch
        {
            WeightFormat.F32 => MemoryMarshal.AsBytes(values.AsSpan()).ToArray(),
            WeightFormat.F16 => MemoryMarshal.AsBytes(ToF16(values).AsSpan()).ToArray(),
            WeightFormat.BF16 => MemoryMarshal.AsBytes(ToBf16(values).AsSpan()).ToArray(),
            _ => Q8(values),
        };

        static byte[] Q8(float[] v)
        {
            var bytes = new byte[v.Length / 32 * 34];
            Mesh.Inference.Models.Dequantize.SingleToQ8(v, bytes);
            return bytes;
        }
    }

    /// <summary>Uploads encoded weights as the backend does (Q8_0 split into quants and scales).</summary>
    internal static (DeviceBuffer Data, DeviceBuffer? Scales) UploadWeights(WeightFormat format, byte[] bytes, int rows, int cols)
    {
        if (format != WeightFormat.Q8_0)
        {
            return (Upload(bytes), null);
        }
        var quants = new sbyte[(long)rows * cols];
        var scales = new Half[quants.Length / 32];
        Q8Layout.Split(bytes, rows, cols, quants, scales);
        return (Upload(quants), Upload(scales));
    }
}

internal static class QueueExtensions
{
    public static Queue<T> ToQueue<T>(this IEnumerable<T> items) => new(items);
}
