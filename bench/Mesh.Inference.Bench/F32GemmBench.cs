using System.Diagnostics;
using System.Runtime.InteropServices;
using Mesh.Inference.Backends;
using Mesh.Inference.Backends.Cpu;
using Mesh.Inference.Models;
using Mesh.Inference.Models.Gguf;

namespace Mesh.Inference.Bench;

/// <summary>
/// The f32 matrix products of one layer of the synthetic 110M model (dim 768, hidden 2048: Q/K/V,
/// output, gate/up, down) at several token counts, on the backend's worker team: the AVX-512 register
/// tiles against the AVX2 kernels they replace, interleaved round by round in one process, in GFLOP/s
/// (2·rows·cols·tokens per product) with the ratio of the medians.
/// </summary>
internal static unsafe class F32GemmBench
{
    public static int Run(int threads, int rounds, int[] tokenCounts)
    {
        const int dim = 768, hidden = 2048;
        var shapes = new (string Name, int Rows, int Cols)[] { ("wq", dim, dim), ("wk", dim, dim), ("wv", dim, dim), ("wo", dim, dim), ("w1", hidden, dim), ("w3", hidden, dim), ("w2", dim, hidden) };
        var random = new Random(1);
        var weights = shapes.Select(s =>
        {
            var data = (float*)NativeMemory.AlignedAlloc((nuint)((long)s.Rows * s.Cols * sizeof(float)), 64);
            for (long i = 0; i < (long)s.Rows * s.Cols; i++)
            {
                data[i] = (float)(random.NextDouble() - 0.5);
            }

            return new WeightMatrix(s.Name, GgmlType.F32, s.Rows, s.Cols, (nint)data);
        }).ToArray();
        var flopsPerToken = 2.0 * shapes.Sum(s => (double)s.Rows * s.Cols);
        Console.WriteLine($"threads: {threads}, one layer of the synthetic 110M model ({flopsPerToken / 1e6:F1} MFLOP per token), {rounds} interleaved rounds, AVX-512: {System.Runtime.Intrinsics.X86.Avx512F.IsSupported}");
        Console.WriteLine();
        using var parallel = new CpuParallel(threads, hidden);
        var table = new Table("tokens", "AVX2 kernels GFLOP/s (median)", "AVX-512 tiles GFLOP/s (median)", "tiles / AVX2", "max |difference| / max |y|");
        foreach (var n in tokenCounts)
        {
            using var small = new CpuActivations();
            using var large = new CpuActivations();
            FillActivations(small, n, dim, random);
            FillActivations(large, n, hidden, random);
            var outputs = shapes.Select(s => new float[(long)n * s.Rows]).ToArray();
            double Once(bool wide)
            {
                CpuF32MatMul.Wide = wide;
                var repeats = Math.Max(1, 64 / n);
                var clock = Stopwatch.StartNew();
                for (var i = 0; i < repeats; i++)
                {
                    fixed (float* q = outputs[0], k = outputs[1], v = outputs[2], o = outputs[3], g = outputs[4], u = outputs[5], d = outputs[6])
                    {
                        parallel.MatMul(small, (weights[0], (nint)q), (weights[1], (nint)k), (weights[2], (nint)v));
                        parallel.MatMul(small, (weights[3], (nint)o));
                        parallel.MatMul(small, (weights[4], (nint)g), (weights[5], (nint)u));
                        parallel.MatMul(large, (weights[6], (nint)d));
                    }
                }

                return flopsPerToken * n * repeats / clock.Elapsed.TotalSeconds / 1e9;
            }

            Once(false);
            var narrowOut = outputs.Select(o => o.ToArray()).ToArray();
            Once(true);
            var difference = outputs.Zip(narrowOut, (a, b) => a.Zip(b, (p, q) => Math.Abs(p - q)).Max()).Max();
            var magnitude = outputs.Max(o => o.Max(Math.Abs));
            var narrow = new List<double>();
            var wide = new List<double>();
            for (var round = 0; round < rounds; round++)
            {
                if (round % 2 == 0)
                {
                    narrow.Add(Once(false));
                    wide.Add(Once(true));
                }
                else
                {
                    wide.Add(Once(true));
                    narrow.Add(Once(false));
                }
            }

            double Median(List<double> values) => values.Order().ElementAt(values.Count / 2);
            table.Add(n, Median(narrow), Median(wide), $"{Median(wide) / Median(narrow):F2}×", $"{difference / magnitude:E1}");
        }

        CpuF32MatMul.Wide = System.Runtime.Intrinsics.X86.Avx512F.IsSupported;
        table.Print();
        foreach (var w in weights)
        {
            NativeMemory.AlignedFree((void*)w.Data);
        }

        return 0;
    }

    private static void FillActivations(CpuActivations activations, int rows, int cols, Random random)
    {
        var x = activations.Reset(rows, cols);
        for (var i = 0; i < rows * cols; i++)
        {
            x[i] = (float)(random.NextDouble() - 0.5);
        }
    }
}
