using System.Diagnostics;
using System.Runtime.InteropServices;
using Mesh.Inference.Backends;
using Mesh.Inference.Backends.Cpu;
using Mesh.Inference.Models;
using Mesh.Inference.Models.Gguf;
using static Mesh.Inference.Bench.BenchStatistics;

namespace Mesh.Inference.Bench;

/// <summary>
/// The f32 matrix products of one or more layers of the synthetic 110M model (dim 768, hidden 2048:
/// Q/K/V, output, gate/up, down; 12 layers stream 340 MB of weights from memory, one fits in cache)
/// at several token counts, on the backend's worker team: the AVX-512 register
/// tiles against the AVX2 kernels they replace, interleaved round by round in one process, in GFLOP/s
/// (2·rows·cols·tokens per product) with the ratio of the medians.
/// </summary>
internal static unsafe class F32GemmBench
{
    public static int Run(int threads, int rounds, int[] tokenCounts, int layers = 1)
    {
        const int dim = 768, hidden = 2048;
        var shapes = new (string Name, int Rows, int Cols)[] { ("wq", dim, dim), ("wk", dim, dim), ("wv", dim, dim), ("wo", dim, dim), ("w1", hidden, dim), ("w3", hidden, dim), ("w2", dim, hidden) };
        var random = new Random(1);
        var weights = Enumerable.Range(0, layers).SelectMany(_ => shapes).Select(s =>
        {
            var data = (float*)NativeMemory.AlignedAlloc((nuint)((long)s.Rows * s.Cols * sizeof(float)), 64);
            for (long i = 0; i < (long)s.Rows * s.Cols; i++)
            {
                data[i] = (float)(random.NextDouble() - 0.5);
            }

            return new WeightMatrix(s.Name, GgmlType.F32, s.Rows, s.Cols, (nint)data);
        }).ToArray();
        var flopsPerToken = 2.0 * layers * shapes.Sum(s => (double)s.Rows * s.Cols);
        Console.WriteLine($"threads: {threads}, {layers} layer(s) of the synthetic 110M model ({flopsPerToken / 1e6:F1} MFLOP, {flopsPerToken * 2 / 1e6:F0} MB of f32 weights per token), {rounds} interleaved rounds, AVX-512: {System.Runtime.Intrinsics.X86.Avx512F.IsSupported}");
        Console.WriteLine();
        using var parallel = new CpuParallel(threads, hidden);
        var table = new Table("tokens", "AVX2 kernels GFLOP/s (median)", "AVX-512 tiles, no prefetch", "AVX-512 tiles GFLOP/s (median)", "tiles / AVX2", "prefetch on / off", "max |difference| / max |y|");
        foreach (var n in tokenCounts)
        {
            using var small = new CpuActivations();
            using var large = new CpuActivations();
            FillActivations(small, n, dim, random);
            FillActivations(large, n, hidden, random);
            var outputs = shapes.Select(s => new float[(long)n * s.Rows]).ToArray();
            double Once(bool wide, bool prefetch = true)
            {
                CpuF32MatMul.Wide = wide;
                CpuF32MatMul.Prefetch = prefetch;
                var repeats = Math.Max(1, 64 / n / layers);
                var clock = Stopwatch.StartNew();
                for (var i = 0; i < repeats; i++)
                {
                    for (var l = 0; l < layers; l++)
                    {
                        var w = weights.AsSpan(l * shapes.Length, shapes.Length);
                        fixed (float* q = outputs[0], k = outputs[1], v = outputs[2], o = outputs[3], g = outputs[4], u = outputs[5], d = outputs[6])
                        {
                            parallel.MatMul(small, (w[0], (nint)q), (w[1], (nint)k), (w[2], (nint)v));
                            parallel.MatMul(small, (w[3], (nint)o));
                            parallel.MatMul(small, (w[4], (nint)g), (w[5], (nint)u));
                            parallel.MatMul(large, (w[6], (nint)d));
                        }
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
            var unfetched = new List<double>();
            var wide = new List<double>();
            for (var round = 0; round < rounds; round++)
            {
                // The arms rotate, so none always follows another's cache state.
                var arms = new Action[] { () => narrow.Add(Once(false)), () => unfetched.Add(Once(true, prefetch: false)), () => wide.Add(Once(true)) };
                for (var arm = 0; arm < arms.Length; arm++)
                {
                    arms[(arm + round) % arms.Length]();
                }
            }

            table.Add(n, Median(narrow), Median(unfetched), Median(wide), $"{Median(wide) / Median(narrow):F2}×", $"{Median(wide) / Median(unfetched):F2}×", $"{difference / magnitude:E1}");
        }

        CpuF32MatMul.Wide = System.Runtime.Intrinsics.X86.Avx512F.IsSupported;
        CpuF32MatMul.Prefetch = true;
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
