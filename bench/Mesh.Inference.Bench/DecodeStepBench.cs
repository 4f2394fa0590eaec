using System.Diagnostics;
using System.Runtime.Intrinsics;
using Mesh.Inference.Backends;
using Mesh.Inference.Backends.Cpu;
using Mesh.Inference.Models;

namespace Mesh.Inference.Bench;

/// <summary>
/// Milliseconds per decode step of the CPU backend alone (no engine, no gRPC), one token from each
/// of 1 and N sequences, interleaved rounds: how much a batched step costs over a one-token step,
/// with a lone token's attention heads grouped per work item and one per item (the previous loop), and
/// beside each the time its weight products alone would take at the machine's FMA peak (<see cref="FmaPeak"/>).
/// </summary>
internal static class DecodeStepBench
{
    public static void Run(string modelPath, int threads, int[] batchSizes, int context, int steps, int rounds)
    {
        using var model = LlamaModel.Load(modelPath);
        var c = model.Config;
        var maxSeqs = batchSizes.Max();
        var blocksPerSeq = (context + steps + 15) / 16;
        using var backend = new CpuBackend(c, model.Weights, new BackendOptions { Threads = threads, KvBlockCount = blocksPerSeq * maxSeqs });
        var tables = Enumerable.Range(0, maxSeqs).Select(s => Enumerable.Range(s * blocksPerSeq, blocksPerSeq).ToArray()).ToArray();
        var logits = new float[maxSeqs * c.VocabSize];
        var batch = new ForwardBatch();

        // Prefill every sequence's context once; the steps then rewrite positions context.. each round.
        for (var s = 0; s < maxSeqs; s++)
        {
            batch.Clear();
            var seq = batch.AddSequence(tables[s]);
            for (var p = 0; p < context; p++)
            {
                batch.AddToken(seq, (s * 7 + p * 13) % c.VocabSize, p, wantLogits: p == context - 1);
            }

            backend.Forward(batch, logits);
        }

        Console.WriteLine($"model: {Path.GetFileName(modelPath)}, threads: {threads}, context {context}, {steps} steps per round, {rounds} rounds");
        var arms = batchSizes.SelectMany(n => new[] { (n, false), (n, true) }).ToArray();
        var times = arms.ToDictionary(a => a, _ => new List<double>());
        var cpuTimes = arms.ToDictionary(a => a, _ => new List<double>());
        for (var round = 0; round < rounds; round++)
        {
            foreach (var (n, grouped) in round % 2 == 0 ? arms : arms.Reverse())
            {
                CpuAttention.GroupLoneTokenHeads = grouped;
                var cpu = Process.GetCurrentProcess().TotalProcessorTime;
                var clock = Stopwatch.StartNew();
                for (var step = 0; step < steps; step++)
                {
                    batch.Clear();
                    for (var s = 0; s < n; s++)
                    {
                        var seq = batch.AddSequence(tables[s]);
                        batch.AddToken(seq, (s * 31 + step * 17) % c.VocabSize, context + step, wantLogits: true);
                    }

                    backend.Forward(batch, logits);
                }

                times[(n, grouped)].Add(clock.Elapsed.TotalMilliseconds / steps);
                cpuTimes[(n, grouped)].Add((Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalMilliseconds / steps);
            }
        }

        CpuAttention.GroupLoneTokenHeads = true;
        // The floor of a step: its weight products (2 FLOP per weight per token) at the machine's FMA peak, measured here.
        var peak = FmaPeak.Gflops(threads);
        var productFlopsPerToken = 2.0 * MemoryWall.MatricesPerToken(model.Weights).Sum(m => (long)m.Rows * m.Cols);
        Console.WriteLine($"FMA peak: {peak:F0} GFLOP/s with {threads} threads (512-bit vectors{(Vector512.IsHardwareAccelerated ? "" : ", emulated as two 256-bit halves")}, the highest of 5 samples); weight products {productFlopsPerToken / 1e6:F0} MFLOP per token");
        var table = new Table("tokens per step", "lone token's heads", "ms per step (median)", "min", "CPU ms per step (median)", "tokens/s", "step / one-token step", "grouped / one per item", "weight products at the FMA peak, ms");
        var one = times[(batchSizes[0], true)].Order().ElementAt(rounds / 2);
        foreach (var n in batchSizes)
        {
            var single = times[(n, false)].Order().ElementAt(rounds / 2);
            foreach (var grouped in new[] { false, true })
            {
                var median = times[(n, grouped)].Order().ElementAt(rounds / 2);
                table.Add(n, grouped ? "grouped" : "one per item", median, times[(n, grouped)].Min(), cpuTimes[(n, grouped)].Order().ElementAt(rounds / 2), n * 1000 / median, $"{median / one:F2}×", grouped ? $"{single / median:F2}×" : "", n * productFlopsPerToken / (peak * 1e6));
            }
        }

        table.Print();
    }
}
