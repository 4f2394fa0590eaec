namespace Mesh.Inference.Backends.Cpu;

/// <summary>
/// A small count (1–4) as a type parameter, so that the JIT compiles one body per count from one
/// source, each with only its own accumulators and loads: the tokens of an int8 register tile and of
/// its leftovers (<see cref="CpuBlockSumTiles"/>, <see cref="CpuKQuantTiles"/>) and the 64-float quarters of attention's value sums (<see cref="CpuAttention"/>).
/// </summary>
internal interface IStaticCount
{
    /// <summary>The count.</summary>
    static abstract int Count { get; }
}

/// <summary>One.</summary>
internal struct One : IStaticCount
{
    public static int Count => 1;
}

/// <summary>Two.</summary>
internal struct Two : IStaticCount
{
    public static int Count => 2;
}

/// <summary>Three.</summary>
internal struct Three : IStaticCount
{
    public static int Count => 3;
}

/// <summary>Four.</summary>
internal struct Four : IStaticCount
{
    public static int Count => 4;
}
