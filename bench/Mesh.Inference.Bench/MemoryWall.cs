using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using Mesh.Inference.Models;

namespace Mesh.Inference.Bench;

/// <summary>
/// The memory wall of decoding: a decode step reads every weight matrix once (the token embedding
/// only one row of it), so weight bytes per token × decode tokens/s is the rate at which it streams
/// weights, bounded by the machine's memory bandwidth. The bandwidth is measured in the same run as
/// STREAM's Copy (bytes read + bytes written per second, each thread copying its own slice of
/// buffers far larger than the caches). The buffers are on huge pages, as Mesh's weights are by
/// default (<see cref="WeightMemory"/>), so the wall is the most the machine streams.
/// </summary>
internal static unsafe class MemoryWall
{
    /// <summary>
    /// The matrices a token multiplies whole: every one but the token embedding, of which a step reads
    /// one row (unless it is also the classifier).
    /// </summary>
    public static IEnumerable<WeightMatrix> MatricesPerToken(LlamaWeights weights) =>
        weights.Matrices.Where(m => m != weights.TokenEmbedding || m == weights.Classifier);

    /// <summary>Bytes of weights one decode step reads: those of <see cref="MatricesPerToken"/>.</summary>
    public static long WeightBytesPerToken(LlamaWeights weights) => MatricesPerToken(weights).Sum(m => m.ByteLength);

    /// <summary>STREAM Copy bandwidth in bytes/s with <paramref name="threads"/> threads: the best of five passes over 2 × 512 MiB.</summary>
    public static double CopyBandwidth(int threads)
    {
        const long bytes = 512L << 20;
        var source = (byte*)MappedFile.AllocateHugePages((nuint)bytes);
        var target = (byte*)MappedFile.AllocateHugePages((nuint)bytes);
        try
        {
            NativeMemory.Fill(source, (nuint)bytes, 1);
            NativeMemory.Fill(target, (nuint)bytes, 2);
            var best = double.MaxValue;
            for (var pass = 0; pass < 5; pass++)
            {
                var clock = Stopwatch.StartNew();
                Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, t =>
                {
                    var start = bytes * t / threads;
                    var end = bytes * (t + 1) / threads;
                    Buffer.MemoryCopy(source + start, target + start, end - start, end - start);
                });
                best = Math.Min(best, clock.Elapsed.TotalSeconds);
            }

            return 2.0 * bytes / best;
        }
        finally
        {
            NativeMemory.AlignedFree(source);
            NativeMemory.AlignedFree(target);
        }
    }

    /// <summary>
    /// Read-only bandwidth in bytes/s with <paramref name="threads"/> threads: the best of five passes
    /// summing 1 GiB with four independent vector accumulators per thread, which is what a decode
    /// step does with its weights (it writes almost nothing). Reported beside Copy, which the issue's
    /// wall is defined by; a step that reads at this rate is at the machine's ceiling.
    /// </summary>
    public static double ReadBandwidth(int threads)
    {
        const long bytes = 1L << 30;
        var source = (float*)MappedFile.AllocateHugePages((nuint)bytes);
        try
        {
            NativeMemory.Fill(source, (nuint)bytes, 1);
            var best = double.MaxValue;
            var sink = 0f;
            for (var pass = 0; pass < 5; pass++)
            {
                var clock = Stopwatch.StartNew();
                var sums = new float[threads];
                Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, t =>
                {
                    var count = bytes / sizeof(float);
                    var p = source + (count * t / threads);
                    var end = source + (count * (t + 1) / threads);
                    Vector256<float> a = default, b = default, c = default, d = default;
                    for (; p + 32 <= end; p += 32)
                    {
                        a += Vector256.Load(p);
                        b += Vector256.Load(p + 8);
                        c += Vector256.Load(p + 16);
                        d += Vector256.Load(p + 24);
                    }

                    sums[t] = Vector256.Sum(a + b + c + d);
                });
                best = Math.Min(best, clock.Elapsed.TotalSeconds);
                sink += sums.Sum();
            }

            GC.KeepAlive(sink);
            return bytes / best;
        }
        finally
        {
            NativeMemory.AlignedFree(source);
        }
    }
}
