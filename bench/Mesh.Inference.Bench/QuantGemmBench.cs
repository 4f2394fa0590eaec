using System.Diagnostics;
using LLama.Native;
using Mesh.Inference.Backends.Cpu;
using Mesh.Inference.Models;
using Mesh.Inference.Models.Gguf;
using static Mesh.Inference.Bench.BenchStatistics;

namespace Mesh.Inference.Bench;

/// <summary>
/// The quantized matrix products of the synthetic 110M model's layers, as a prefill step issues them
/// (Q/K/V, output, gate/up on the dim-wide input, down on the hidden-wide one), at several token
/// counts on the backend's worker team: the int8 register tiles (<see cref="CpuQuantMatMul.PrefillTiles"/>)
/// against the kernels a batch takes without them ("one-row": for Q4_0/Q4_1/Q5_0/Q5_1/Q8_0 the in-place
/// eight-row kernels of <see cref="CpuBlockSums"/>, otherwise one dot product per row and token),
/// interleaved round by round in one process, in GOP/s
/// (2·rows·cols·tokens per product) with the ratio of the medians, the median of the per-round
/// ratios, and the largest difference between the two arms' outputs, which must be 0 (the kernels
/// are bit-identical). A K-quant file runs through the same switch.
/// </summary>
internal static unsafe class QuantGemmBench
{
    /// <summary>Runs the bench; 1 if the two arms' outputs differ in any bit, 2 for an unknown type.</summary>
    public static int Run(string type, int threads, int rounds, int[] tokenCounts, int layers)
    {
        string path;
        if (type.Equals("Q8_0", StringComparison.OrdinalIgnoreCase))
        {
            path = BenchModels.Synthetic110M(GgmlType.Q8_0);
        }
        else if (Enum.TryParse<LLamaFtype>("MOSTLY_" + type.ToUpperInvariant(), out var ftype) || Enum.TryParse(type, ignoreCase: true, out ftype))
        {
            path = BenchModels.Quantized110M(ftype);
        }
        else
        {
            Console.Error.WriteLine($"unknown --type {type}: Q8_0, or a llama.cpp file type such as Q4_0, Q5_1, Q4_K_M");
            return 2;
        }

        using var model = LlamaModel.Load(path);
        var shown = model.Weights.Layers.Take(layers).ToArray();
        var matrices = shown.SelectMany(l => new[] { l.Query, l.Key, l.Value, l.Output, l.Gate, l.Up, l.Down }).ToArray();
        var dim = shown[0].Query.Cols;
        var hidden = shown[0].Down.Cols;
        var opsPerToken = 2.0 * matrices.Sum(m => (double)m.Rows * m.Cols);
        var types = string.Join(", ", matrices.GroupBy(m => m.Type).Select(g => $"{g.Count()} × {g.Key}"));
        Console.WriteLine($"{Path.GetFileName(path)}: {shown.Length} layer(s), {types}; {opsPerToken / 1e6:F0} MOP per token; threads: {threads}, {rounds} interleaved rounds; tiles supported: {CpuBlockSumTiles.IsSupported}; load average {LoadAverage()}");
        Console.WriteLine();

        using var parallel = new CpuParallel(threads, hidden);
        var table = new Table("tokens", "one-row kernels GOP/s (median)", "register tiles GOP/s (median)", "ratio of medians", "median of per-round ratios", "max |difference|");
        var identical = true;
        foreach (var n in tokenCounts)
        {
            var random = new Random(n);
            using var small = Activations(n, dim, random);
            using var large = Activations(n, hidden, random);
            var outputs = matrices.Select(m => new float[(long)n * m.Rows]).ToArray();
            double Once(bool tiles)
            {
                CpuQuantMatMul.PrefillTiles = tiles;
                var repeats = Math.Max(1, 64 / n);
                var clock = Stopwatch.StartNew();
                for (var i = 0; i < repeats; i++)
                {
                    for (var l = 0; l < shown.Length; l++)
                    {
                        var w = matrices.AsSpan(l * 7, 7);
                        var y = outputs.AsSpan(l * 7, 7);
                        fixed (float* q = y[0], k = y[1], v = y[2], o = y[3], g = y[4], u = y[5], d = y[6])
                        {
                            parallel.MatMul(small, (w[0], (nint)q), (w[1], (nint)k), (w[2], (nint)v));
                            parallel.MatMul(small, (w[3], (nint)o));
                            parallel.MatMul(small, (w[4], (nint)g), (w[5], (nint)u));
                            parallel.MatMul(large, (w[6], (nint)d));
                        }
                    }
                }

                return opsPerToken * n * repeats / clock.Elapsed.TotalSeconds / 1e9;
            }

            Once(false);
            var before = outputs.Select(o => o.ToArray()).ToArray();
            Once(true);
            var difference = 0.0;
            for (var m = 0; m < outputs.Length; m++)
            {
                identical &= before[m].AsSpan().SequenceEqual(outputs[m]);
                for (var i = 0; i < outputs[m].Length; i++)
                {
                    difference = Math.Max(difference, Math.Abs((double)outputs[m][i] - before[m][i]));
                }
            }

            var oneRow = new List<double>();
            var tiled = new List<double>();
            for (var round = 0; round < rounds; round++)
            {
                // Alternate which goes first, so neither always follows the other's cache state.
                if (round % 2 == 0)
                {
                    oneRow.Add(Once(false));
                    tiled.Add(Once(true));
                }
                else
                {
                    tiled.Add(Once(true));
                    oneRow.Add(Once(false));
                }
            }

            // Each round's ratio compares two runs a few hundred milliseconds apart, so load that
            // comes and goes moves it less than it moves either median.
            var ratios = tiled.Zip(oneRow, (t, o) => t / o);
            table.Add(n, $"{Median(oneRow):F1}", $"{Median(tiled):F1}", $"{Median(tiled) / Median(oneRow):F2}×", $"{Median(ratios):F2}×", difference.ToString("G3"));
        }

        CpuQuantMatMul.PrefillTiles = true;
        table.Print();
        Console.WriteLine();
        Console.WriteLine($"load average after: {LoadAverage()}; outputs bit-identical: {(identical ? "yes" : "NO")}");
        return identical ? 0 : 1;
    }

    private static CpuActivations Activations(int rows, int cols, Random random)
    {
        var activations = new CpuActivations();
        var x = activations.Reset(rows, cols);
        for (var i = 0; i < rows * cols; i++)
        {
            x[i] = (float)(random.NextDouble() - 0.5);
        }

        return activations;
    }
}
