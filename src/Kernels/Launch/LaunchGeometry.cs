namespace Mesh.Kernels.Launch;

/// <summary>Grid and block sizes and dynamic shared memory of one kernel launch.</summary>
public readonly record struct LaunchGeometry(uint GridX, uint GridY, uint GridZ, uint BlockX, uint BlockY, uint BlockZ, uint SharedMemoryBytes = 0)
{
    /// <summary>A one-dimensional grid of <paramref name="blocks"/> blocks of <paramref name="threads"/> threads.</summary>
    public static LaunchGeometry Linear(uint blocks, uint threads, uint sharedBytes = 0) => new(blocks, 1, 1, threads, 1, 1, sharedBytes);

    /// <summary>Threads in the whole launch: grid size × block size.</summary>
    public ulong TotalThreads => (ulong)GridX * GridY * GridZ * BlockX * BlockY * BlockZ;

    /// <summary>Grid, block and dynamic shared memory (bytes), for log lines.</summary>
    public override string ToString() => $"grid ({GridX},{GridY},{GridZ}) block ({BlockX},{BlockY},{BlockZ}) smem {SharedMemoryBytes}";
}
