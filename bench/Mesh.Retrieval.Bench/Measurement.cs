using System.Diagnostics;

namespace Mesh.Retrieval.Bench;

/// <summary>
/// One measured arm: recall@10, queries/s (wall clock), CPU µs per query of the process that searches (for
/// the service: its own process), and of its separate client process (0 for USearch alone, which has none).
/// </summary>
internal readonly record struct Measurement(double Recall, double Qps, double CpuUsPerQuery, double ClientCpuUsPerQuery = 0)
{
    /// <summary>The better of two rounds by queries/s (a default, unmeasured one loses).</summary>
    public static Measurement Best(Measurement a, Measurement b) => a.Qps >= b.Qps ? a : b;
}

/// <summary>
/// Wall clock and process CPU time (all threads, user + kernel) over one arm. CPU time per query is what the
/// arm costs regardless of how much of the machine other processes took meanwhile.
/// </summary>
internal readonly struct CpuClock
{
    private readonly long _start;
    private readonly TimeSpan _cpu;

    private CpuClock(long start, TimeSpan cpu)
    {
        _start = start;
        _cpu = cpu;
    }

    public static CpuClock Start() => new(Stopwatch.GetTimestamp(), Environment.CpuUsage.TotalTime);

    public Measurement Stop(int queries, double recall)
    {
        var wall = Stopwatch.GetElapsedTime(_start);
        var cpu = Environment.CpuUsage.TotalTime - _cpu;
        return new Measurement(recall, queries / wall.TotalSeconds, cpu.TotalMicroseconds / queries);
    }
}
