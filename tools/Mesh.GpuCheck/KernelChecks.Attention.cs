using Mesh.Kernels.Launch;
using Mesh.Kernels.Layout;
using Mesh.Kernels.Reference;
using static Mesh.GpuCheck.DeviceData;

namespace Mesh.GpuCheck;

/// <summary>KV-cache append, paged decode attention, flash-decoding and the flash prefill kernel.</summary>
internal sealed partial class KernelChecks
{
    private void KvAppendAndAttention(int tokens, int heads, int kvHeads, int headDim, int[] lengths)
    {
        _ = tokens;
        const int blockSize = 16;
        var blocksNeeded = lengths.Sum(l => (l + blockSize - 1) / blockSize);
        var layout = new BlockTableLayout(blockSize, blocksNeeded + 7, kvHeads, headDim);
        var kvDim = kvHeads * headDim;
        // Scatter each sequence over shuffled blocks.
        var free = Enumerable.Range(0, layout.BlockCount).OrderBy(_ => _random.Next()).ToQueue();
        var tables = lengths.Select(l => Enumerable.Range(0, (l + blockSize - 1) / blockSize).Select(_ => free.Dequeue()).ToArray()).ToArray();
        var keyPool = new float[layout.FloatsPerPool];
        var valuePool = new float[layout.FloatsPerPool];
        using var dkp = Upload(keyPool);
        using var dvp = Upload(valuePool);

        // Append every position of every sequence through the kernel, one batch.
        var total = lengths.Sum();
        var k = RandomFloats(_random, (long)total * kvDim);
        var v = RandomFloats(_random, (long)total * kvDim);
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
            _kernels.KvAppend(dkp, dvp, dk, dv, dslots, total, kvHeads, headDim, blockSize, null);
        }
        ReferenceKernels.KvAppend(keyPool, valuePool, k, v, slots, layout);
        Record("kv_append_f32", $"{total} tokens x {kvHeads}x{headDim}", Download(dkp, layout.FloatsPerPool), keyPool, 0, "keys pool");
        Record("kv_append_f32", $"{total} tokens x {kvHeads}x{headDim}", Download(dvp, layout.FloatsPerPool), valuePool, 0, "values pool");

        // One query per sequence at its last position, plus a middle position of the first.
        var tokenSeq = Enumerable.Range(0, lengths.Length).Append(0).ToArray();
        var tokenPos = lengths.Select(l => l - 1).Append(lengths[0] / 2).ToArray();
        var flat = BlockTableLayout.Flatten(tables, out var maxBlocks);
        var q = RandomFloats(_random, (long)tokenSeq.Length * heads * headDim, 2);
        var scale = 1f / MathF.Sqrt(headDim);
        using var dq = Upload(q);
        using var dtables = Upload(flat);
        using var dseq = Upload(tokenSeq);
        using var dpos = Upload(tokenPos);
        using var dout = Poisoned(q.Length);
        _kernels.Attention(dout, dq, dkp, dvp, dtables, dseq, dpos, tokenSeq.Length, heads, kvHeads, headDim, maxBlocks, blockSize, scale, null);
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
        _kernels.AttentionFlashDecode(dflash, dpartO, dpartMl, dq, dkp, dvp, dtables, dseq, dpos, tokenSeq.Length, heads, kvHeads, headDim, maxBlocks, blockSize, scale, splitLength, splits, null);
        var (partO, partMl) = FlashDecodingReference.Split(q, keyPool, valuePool, flat, maxBlocks, tokenSeq, tokenPos, heads, layout, scale, splitLength, splits);
        var shape = $"{tokenSeq.Length} queries, {heads}/{kvHeads} heads x {headDim}, ctx {string.Join('/', lengths)}, {splits} splits of {splitLength}";
        Record("attention_decode_split_f32", shape, Download(dpartO, partO.Length), partO, 1e-4, "partial outputs");
        Record("attention_decode_combine_f32", shape, Download(dflash, q.Length), expected, 1e-4, "split + combine vs unsplit attention");
    }

    private void AttentionPrefill(int tokens, int heads, int kvHeads)
    {
        const int headDim = 64;
        var q = ToBf16(RandomFloats(_random, (long)tokens * heads * headDim, 2));
        var k = ToBf16(RandomFloats(_random, (long)tokens * kvHeads * headDim, 2));
        var v = ToBf16(RandomFloats(_random, (long)tokens * kvHeads * headDim));
        var scale = 1f / MathF.Sqrt(headDim);
        using var dq = Upload(q);
        using var dk = Upload(k);
        using var dv = Upload(v);
        using var dout = Poisoned(q.Length);
        _kernels.AttentionPrefill(dout, dq, dk, dv, tokens, heads, kvHeads, headDim, scale, null);
        var expected = new float[q.Length];
        ReferenceKernels.CausalAttention(expected, FromBf16(q), FromBf16(k), FromBf16(v), tokens, heads, kvHeads, headDim, scale);
        // P is rounded to bf16 before P·V, as FlashAttention does: ~2^-8 relative per weight.
        Record("attention_prefill_bf16", $"{tokens} tokens, {heads}/{kvHeads} heads x {headDim}", Download(dout, q.Length), expected, 1e-2);
    }
}
