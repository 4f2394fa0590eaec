using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Mesh.Inference.Bench;

/// <summary>
/// The machine's floating-point ceiling: GFLOP/s of fused multiply-adds on 512-bit float vectors
/// (AVX-512 where present; .NET splits them into two 256-bit halves elsewhere) with a team of threads,
/// each running twelve independent chains, more than an FMA's latency × its issue width on current x86
/// cores, so the pipes never wait. A matrix product cannot beat it; it bounds what any kernel can do.
/// </summary>
internal static class FmaPeak
{
    private const int Chains = 12;

    /// <summary>The highest of five samples of ~50–100 ms, in GFLOP/s (one FMA = 2 FLOP per lane).</summary>
    public static double Gflops(int threads)
    {
        const long iterations = 10_000_000;
        Run(iterations / 10); // tier-up
        var best = 0.0;
        for (var sample = 0; sample < 5; sample++)
        {
            var clock = Stopwatch.StartNew();
            Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, _ => Run(iterations));
            var flops = (double)threads * iterations * Chains * Vector512<float>.Count * 2;
            best = Math.Max(best, flops / clock.Elapsed.TotalSeconds / 1e9);
        }

        return best;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static float Run(long iterations)
    {
        var m = Vector512.Create(0.9999999f);
        var b = Vector512.Create(1e-7f);
        Vector512<float> a0 = Vector512.Create(1f), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0, a8 = a0, a9 = a0, a10 = a0, a11 = a0;
        for (long i = 0; i < iterations; i++)
        {
            a0 = Vector512.FusedMultiplyAdd(a0, m, b);
            a1 = Vector512.FusedMultiplyAdd(a1, m, b);
            a2 = Vector512.FusedMultiplyAdd(a2, m, b);
            a3 = Vector512.FusedMultiplyAdd(a3, m, b);
            a4 = Vector512.FusedMultiplyAdd(a4, m, b);
            a5 = Vector512.FusedMultiplyAdd(a5, m, b);
            a6 = Vector512.FusedMultiplyAdd(a6, m, b);
            a7 = Vector512.FusedMultiplyAdd(a7, m, b);
            a8 = Vector512.FusedMultiplyAdd(a8, m, b);
            a9 = Vector512.FusedMultiplyAdd(a9, m, b);
            a10 = Vector512.FusedMultiplyAdd(a10, m, b);
            a11 = Vector512.FusedMultiplyAdd(a11, m, b);
        }

        // Returned so that the chains are not dead code.
        return Vector512.Sum(a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11);
    }
}
