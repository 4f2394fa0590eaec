using System.Diagnostics;
using Mesh.Inference.Sampling;
using static Mesh.Inference.Bench.BenchStatistics;

namespace Mesh.Inference.Bench;

/// <summary>
/// Microseconds per draw of <see cref="Sampler"/> against the full-sort sampler it replaced
/// (<see cref="FullSortSampler"/>), on the same rows and seeds, interleaved round by round, for
/// vocabulary sizes of the test models and of Llama 2/3, Gaussian logits (σ 3, like a language
/// model's) and flat ones (uniform over 10, the worst case for band sorting), and the sampling
/// settings users send: temperature only, top-p 0.95, llama.cpp server's top-k 40 / top-p 0.95 / min-p 0.05.
/// </summary>
internal static class SamplerBench
{
    public static int Run(int rounds)
    {
        var settings = new (string Name, SamplingParameters Parameters)[]
        {
            ("T 0.8", new SamplingParameters { Temperature = 0.8f, Seed = 1 }),
            ("T 0.7, top-p 0.95", new SamplingParameters { Temperature = 0.7f, TopP = 0.95f, Seed = 1 }),
            ("T 0.8, top-k 40, top-p 0.95, min-p 0.05", new SamplingParameters { Temperature = 0.8f, TopK = 40, TopP = 0.95f, MinP = 0.05f, Seed = 1 }),
        };
        Console.WriteLine($"{rounds} interleaved rounds, median µs per draw, one thread");
        Console.WriteLine();
        var table = new Table("vocabulary", "logits", "sampling", "full sort µs", "band sort µs", "full sort / band sort");
        foreach (var vocab in new[] { 512, 32000, 128256 })
        {
            foreach (var flat in new[] { false, true })
            {
                var random = new Random(vocab);
                var logits = Enumerable.Range(0, vocab).Select(_ => flat
                    ? (float)(random.NextDouble() * 10)
                    : (float)(3 * Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble()))).ToArray();
                foreach (var (name, parameters) in settings)
                {
                    var baseline = new FullSortSampler(parameters, vocab);
                    var sampler = new Sampler(parameters);
                    var draws = Math.Max(20, 2_000_000 / vocab);
                    double Time(Func<ulong, int> sample)
                    {
                        var clock = Stopwatch.StartNew();
                        for (var i = 0; i < draws; i++)
                        {
                            sample((ulong)i);
                        }

                        return clock.Elapsed.TotalMicroseconds / draws;
                    }

                    var before = new List<double>();
                    var after = new List<double>();
                    for (var round = 0; round < rounds + 2; round++)
                    {
                        // The first two rounds warm the JIT's optimized code up and are not counted.
                        var b = Time(d => baseline.Sample(logits, [], d));
                        var a = Time(d => sampler.Sample(logits, [], d));
                        if (round >= 2)
                        {
                            before.Add(b);
                            after.Add(a);
                        }
                    }

                    table.Add(vocab, flat ? "flat (uniform 0–10)" : "Gaussian σ 3", name, Median(before), Median(after), $"{Median(before) / Median(after):F2}×");
                }
            }
        }

        table.Print();
        return 0;
    }
}
