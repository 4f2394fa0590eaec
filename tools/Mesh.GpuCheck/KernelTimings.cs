using Mesh.Kernels;
using Mesh.Kernels.Driver;
using Mesh.Kernels.Launch;
using Mesh.Kernels.Layout;
using Mesh.Kernels.Reference;
using Mesh.Kernels.Sampling;
using static Mesh.GpuCheck.DeviceData;

namespace Mesh.GpuCheck;

/// <summary>
/// Times the kernels that carry the model's cost on shapes that fill the chip and exceed L2
/// (weights rotate over several copies), as the median of event-timed runs after warm-up. Each
/// result names the PyTorch operation torch_baseline.py times on the same shape.
/// </summary>
internal sealed class KernelTimings(CudaKernels kernels, CudaStream stream, Random random)
{
    private const int Warmup = 5, Repeats = 30;

    public List<TimingResult> Results { get; } = [];

    public void RunAll()
    {
        Copy(1L << 30);
        MatMul(4096, 4096, 4096);
        MatMul(2048, 8192, 2048);
        if (kernels.HasHopperKernels)
        {
            MatMul(4096, 4096, 4096, hopper: true);
            MatMul(8192, 8192, 8192, hopper: true);
        }
        foreach (var format in new[] { WeightFormat.BF16, WeightFormat.F16, WeightFormat.Q8_0 })
        {
            MatVec(format, n: 8192, k: 2048);
            MatVec(format, n: 2048, k: 8192);
        }
        MatVec(WeightFormat.BF16, n: 128256, k: 2048);
        foreach (var format in Enum.GetValues<BlockQuantFormat>())
        {
            MatVecQuant(format, n: 8192, k: 2048);
            MatVecQuant(format, n: 2048, k: 8192);
        }
        foreach (var format in Enum.GetValues<BlockQuantFormat>())
        {
            MatMulQuant(format, m: 512, n: 8192, k: 2048);
            MatMulQuant(format, m: 2048, n: 2048, k: 8192);
        }
        foreach (var format in new[] { BlockQuantFormat.Q8_0, BlockQuantFormat.Q4_0 })
        {
            MatMulInt8(format, m: 512, n: 8192, k: 2048);
            MatMulInt8(format, m: 2048, n: 2048, k: 8192);
        }
        DecodeAttention(sequences: 8, context: 4096, heads: 32, kvHeads: 8, headDim: 64);
        DecodeAttention(sequences: 1, context: 32768, heads: 32, kvHeads: 8, headDim: 128);
        DecodeAttention(sequences: 1, context: 32768, heads: 32, kvHeads: 8, headDim: 128, flashSplit: 512);
        DecodeAttention(sequences: 8, context: 4096, heads: 32, kvHeads: 8, headDim: 64, flashSplit: 256);
        PrefillAttention(tokens: 2048, heads: 32, kvHeads: 8, headDim: 64);
        FlashPrefill(tokens: 2048, heads: 32, kvHeads: 8);
        FlashPrefill(tokens: 8192, heads: 32, kvHeads: 8);
        Sampling(rows: 32, vocab: 128256);
    }

    /// <summary>Median device milliseconds of <paramref name="run"/> (called with the repeat index).</summary>
    private double Time(Action<int> run)
    {
        using var start = CudaEvent.Create();
        using var end = CudaEvent.Create();
        for (var i = 0; i < Warmup; i++)
        {
            run(i);
        }
        stream.Synchronize();
        var times = new double[Repeats];
        for (var i = 0; i < Repeats; i++)
        {
            start.Record(stream);
            run(i);
            end.Record(stream);
            end.Synchronize();
            times[i] = CudaEvent.ElapsedMilliseconds(start, end);
        }
        Array.Sort(times);
        return times[Repeats / 2];
    }

    private void Copy(long bytes)
    {
        using var a = DeviceBuffer.Allocate(checked((ulong)bytes));
        using var b = DeviceBuffer.Allocate(checked((ulong)bytes));
        a.Fill32(0x3F800000);
        var ms = Time(_ => b.CopyFrom(a, (ulong)bytes, stream));
        Results.Add(new TimingResult("copy (cuMemcpyDtoD)", $"{bytes >> 20} MiB", ms, 2.0 * bytes, 0, "copy", [(int)(bytes >> 20)]));
    }

    private void MatMul(int m, int n, int k, bool hopper = false)
    {
        using var a = Upload(ToBf16(RandomFloats(random, (long)m * k)));
        using var b = Upload(ToBf16(RandomFloats(random, (long)n * k)));
        using var c = DeviceBuffer.Allocate<float>((long)m * n);
        var ms = hopper
            ? Time(_ => kernels.MatMulHopper(c, a, b, m, n, k, stream))
            : Time(_ => kernels.MatMul(c, WeightFormat.BF16, a, b, m, n, k, stream));
        Results.Add(new TimingResult(hopper ? "matmul_wgmma_bf16 (wgmma + TMA)" : "matmul_bf16 (mma.sync)", $"{m}x{n}x{k}", ms, 2.0 * ((long)m * k + (long)n * k) + 4.0 * m * n, 2.0 * m * n * k, "matmul_bf16", [m, n, k]));
    }

    private void MatVec(WeightFormat format, int n, int k)
    {
        // Enough copies of W that the rotation exceeds any L2.
        var copies = (int)Math.Clamp((512L << 20) / ((long)n * k * 2), 2, 8);
        var values = RandomFloats(random, (long)n * k);
        var bytes = KernelChecks.Encode(format, values, n, k);
        var weights = Enumerable.Range(0, copies).Select(_ => KernelChecks.UploadWeights(format, bytes, n, k)).ToArray();
        using var x = Upload(RandomFloats(random, k));
        using var y = DeviceBuffer.Allocate<float>(n);
        var ms = Time(i => kernels.MatVec(y, format, weights[i % copies].Data, weights[i % copies].Scales, x, 1, n, k, stream));
        foreach (var (data, scales) in weights)
        {
            data.Dispose();
            scales?.Dispose();
        }
        var weightBytes = format == WeightFormat.Q8_0 ? (double)n * k * 34 / 32 : (double)n * k * 2;
        Results.Add(new TimingResult($"matvec_{KernelChecks.Name(format)}", $"1x{k} · {n}x{k}", ms, weightBytes + (4.0 * k) + (4.0 * n), 2.0 * n * k, "matvec_bf16", [n, k]));
    }

    /// <summary>A GGML block-quantized matvec (weights rotated past L2); bandwidth counts the quantized bytes, the PyTorch column is the bf16 gemv of the same shape.</summary>
    private void MatVecQuant(BlockQuantFormat format, int n, int k)
    {
        var rowBytes = BlockQuantFormats.RowBytes(format, k);
        var copies = (int)Math.Clamp((512L << 20) / (n * rowBytes), 2, 8);
        var bytes = QuantMatVecReference.RandomWeights(format, n, k, random);
        var weights = Enumerable.Range(0, copies).Select(_ => Upload(bytes)).ToArray();
        using var x = Upload(RandomFloats(random, k));
        using var y = DeviceBuffer.Allocate<float>(n);
        var ms = Time(i => kernels.MatVecQuant(y, format, weights[i % copies], x, 1, n, k, stream));
        foreach (var w in weights)
        {
            w.Dispose();
        }
        Results.Add(new TimingResult(BlockQuantFormats.MatVecEntry(format), $"1x{k} · {n}x{k}", ms, (double)n * rowBytes + (4.0 * k) + (4.0 * n), 2.0 * n * k, "matvec_bf16", [n, k]));
    }

    /// <summary>The quantized prefill GEMM (tokens × weight rows × K); the PyTorch column is cuBLAS's bf16 matmul of the same shape on dequantized weights.</summary>
    private void MatMulQuant(BlockQuantFormat format, int m, int n, int k)
    {
        using var w = Upload(QuantMatVecReference.RandomWeights(format, n, k, random));
        using var a = Upload(RandomFloats(random, (long)m * k));
        using var c = DeviceBuffer.Allocate<float>((long)m * n);
        var ms = Time(_ => kernels.MatMulQuant(c, format, w, a, m, n, k, stream));
        Results.Add(new TimingResult($"{BlockQuantFormats.MatMulEntry(format)} (f32 FMA)", $"{m}x{n}x{k}", ms, (double)n * BlockQuantFormats.RowBytes(format, k) + (4.0 * m * k) + (4.0 * m * n), 2.0 * m * n * k, "matmul_bf16", [m, n, k]));
    }

    /// <summary>
    /// The int8 tensor-core GEMM over Q8_0 (split) or Q4_0 (as stored) weights, activation
    /// quantization included, so it reads as a drop-in for the FMA GEMM timed on the same shapes;
    /// the PyTorch column is cuBLAS's bf16 matmul.
    /// </summary>
    private void MatMulInt8(BlockQuantFormat format, int m, int n, int k)
    {
        var q8 = format == BlockQuantFormat.Q8_0;
        using var wq = q8 ? DeviceBuffer.Allocate<sbyte>((long)n * k) : Upload(QuantMatVecReference.RandomWeights(format, n, k, random));
        using var ws = q8 ? Upload(Enumerable.Range(0, n * k / 32).Select(_ => (Half)(0.001 + (random.NextDouble() * 0.01))).ToArray()) : null;
        if (q8)
        {
            wq.Fill32(0x01FF02FE);
        }
        using var a = Upload(RandomFloats(random, (long)m * k));
        using var q = DeviceBuffer.Allocate<sbyte>((long)m * k);
        using var d = DeviceBuffer.Allocate<float>((long)m * k / 32);
        using var c = DeviceBuffer.Allocate<float>((long)m * n);
        var ms = Time(_ =>
        {
            kernels.QuantizeQ8(q, d, a, m, k, stream);
            if (q8)
            {
                kernels.MatMulInt8(c, wq, ws!, q, d, m, n, k, stream);
            }
            else
            {
                kernels.MatMulInt8Q4(c, wq, q, d, m, n, k, stream);
            }
        });
        var entry = q8 ? "matmul_q8_0_s8" : "matmul_q4_0_s8";
        Results.Add(new TimingResult($"quantize_q8_f32 + {entry} (int8 mma)", $"{m}x{n}x{k}", ms, ((double)n * BlockQuantFormats.RowBytes(format, k)) + (4.0 * m * k) + (4.0 * m * n), 2.0 * m * n * k, "matmul_bf16", [m, n, k]));
    }

    /// <summary>Paged decode attention; with <paramref name="flashSplit"/> &gt; 0 flash-decoding with splits of that many positions.</summary>
    private void DecodeAttention(int sequences, int context, int heads, int kvHeads, int headDim, int flashSplit = 0)
    {
        const int blockSize = 16;
        var perSeq = context / blockSize;
        var layout = new BlockTableLayout(blockSize, sequences * perSeq, kvHeads, headDim);
        using var keys = DeviceBuffer.Allocate<float>(layout.FloatsPerPool);
        using var values = DeviceBuffer.Allocate<float>(layout.FloatsPerPool);
        keys.Fill32(0x3C000000);
        values.Fill32(0x3C800000);
        var order = Enumerable.Range(0, layout.BlockCount).OrderBy(_ => random.Next()).ToArray();
        var tables = Enumerable.Range(0, sequences).Select(s => order.AsSpan(s * perSeq, perSeq).ToArray()).ToArray();
        var flat = BlockTableLayout.Flatten(tables, out var maxBlocks);
        using var dtables = Upload(flat);
        using var dseq = Upload(Enumerable.Range(0, sequences).ToArray());
        using var dpos = Upload(Enumerable.Repeat(context - 1, sequences).ToArray());
        using var q = Upload(RandomFloats(random, (long)sequences * heads * headDim));
        using var output = DeviceBuffer.Allocate<float>((long)sequences * heads * headDim);
        var splits = flashSplit > 0 ? KernelShapes.FlashDecodeSplits(context, flashSplit) : 1;
        using var partO = DeviceBuffer.Allocate<float>((long)sequences * heads * splits * headDim);
        using var partMl = DeviceBuffer.Allocate<float>((long)sequences * heads * splits * 2);
        var ms = flashSplit > 0
            ? Time(_ => kernels.AttentionFlashDecode(output, partO, partMl, q, keys, values, dtables, dseq, dpos, sequences, heads, kvHeads, headDim, maxBlocks, blockSize,
                1f / MathF.Sqrt(headDim), flashSplit, splits, stream))
            : Time(_ => kernels.Attention(output, q, keys, values, dtables, dseq, dpos, sequences, heads, kvHeads, headDim, maxBlocks, blockSize,
                1f / MathF.Sqrt(headDim), stream));
        var kvBytes = 2.0 * sequences * context * kvHeads * headDim * 4;
        var name = flashSplit > 0 ? $"attention flash-decoding (split {flashSplit})" : "attention_decode_f32 (paged)";
        Results.Add(new TimingResult(name, $"{sequences} seq x ctx {context}, {heads}/{kvHeads} heads x {headDim}", ms, kvBytes,
            4.0 * sequences * context * heads * headDim, "decode_attention", [sequences, context, heads, kvHeads, headDim]));
    }

    private void PrefillAttention(int tokens, int heads, int kvHeads, int headDim)
    {
        const int blockSize = 16;
        var layout = new BlockTableLayout(blockSize, tokens / blockSize, kvHeads, headDim);
        using var keys = Upload(RandomFloats(random, layout.FloatsPerPool));
        using var values = Upload(RandomFloats(random, layout.FloatsPerPool));
        using var dtables = Upload(Enumerable.Range(0, layout.BlockCount).ToArray());
        using var dseq = Upload(new int[tokens]);
        using var dpos = Upload(Enumerable.Range(0, tokens).ToArray());
        using var q = Upload(RandomFloats(random, (long)tokens * heads * headDim));
        using var output = DeviceBuffer.Allocate<float>((long)tokens * heads * headDim);
        var ms = Time(_ => kernels.Attention(output, q, keys, values, dtables, dseq, dpos, tokens, heads, kvHeads, headDim, layout.BlockCount, blockSize,
            1f / MathF.Sqrt(headDim), stream));
        Results.Add(new TimingResult("attention (paged kernel, causal prefill)", $"1 x {tokens} tokens, {heads}/{kvHeads} heads x {headDim}", ms, 0,
            2.0 * tokens * tokens * heads * headDim, "sdpa_causal", [tokens, heads, kvHeads, headDim]));
    }

    private void FlashPrefill(int tokens, int heads, int kvHeads)
    {
        const int headDim = 64;
        using var q = Upload(ToBf16(RandomFloats(random, (long)tokens * heads * headDim)));
        using var k = Upload(ToBf16(RandomFloats(random, (long)tokens * kvHeads * headDim)));
        using var v = Upload(ToBf16(RandomFloats(random, (long)tokens * kvHeads * headDim)));
        using var output = DeviceBuffer.Allocate<float>((long)tokens * heads * headDim);
        var ms = Time(_ => kernels.AttentionPrefill(output, q, k, v, tokens, heads, kvHeads, headDim, 0.125f, stream));
        Results.Add(new TimingResult("attention_prefill_bf16 (flash, mma.sync)", $"1 x {tokens} tokens, {heads}/{kvHeads} heads x {headDim}", ms, 0,
            2.0 * tokens * tokens * heads * headDim, "sdpa_causal", [tokens, heads, kvHeads, headDim]));
    }

    private void Sampling(int rows, int vocab)
    {
        using var logits = Upload(RandomFloats(random, (long)rows * vocab, 8));
        var parameters = Enumerable.Range(0, rows).Select(r => new SamplingRow(0.8f, 40, 0.95f, 0.05f, (ulong)r, 1)).ToArray();
        using var dp = Upload(parameters);
        using var tokens = DeviceBuffer.Allocate<int>(rows);
        var ms = Time(_ => kernels.Sample(tokens, logits, dp, rows, vocab, stream));
        Results.Add(new TimingResult("sample_f32 (top-k 40, top-p 0.95, min-p 0.05)", $"{rows}x{vocab}", ms, 4.0 * rows * vocab, 0, "sampling", [rows, vocab]));
    }
}
