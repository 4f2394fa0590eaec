namespace Mesh.Inference.Backends;

/// <summary>How the CPU backend runs its parallel regions (matrix products, attention, norms).</summary>
public enum CpuParallelism
{
    /// <summary>
    /// A persistent team of threads per backend (the calling thread and Threads - 1 others) that spin
    /// briefly between regions and park when idle: no per-region scheduling through the thread pool.
    /// </summary>
    WorkerTeam,

    /// <summary><see cref="Parallel.For(int, int, ParallelOptions, Action{int})"/> on the .NET thread pool per region; the baseline for A/B benchmarks.</summary>
    ThreadPool,
}
