namespace Mesh.Inference.Backends.Cpu;

/// <summary>
/// Activation rows (tokens) per int8 register tile, as a type parameter, so that the JIT compiles the
/// full four-token tile and the smaller tiles for the tokens left over from one source, each with
/// only its own accumulators and loads (<see cref="CpuBlockQuantTiles"/>, <see cref="CpuKQuantTiles"/>).
/// </summary>
internal interface ITileTokens
{
    /// <summary>Tokens per tile: 4, 2 or 1.</summary>
    static abstract int Count { get; }
}

/// <summary>The full tile: four tokens.</summary>
internal struct FourTokens : ITileTokens
{
    public static int Count => 4;
}

/// <summary>Two of the tokens left over after the full tiles (the K-quant tiles).</summary>
internal struct TwoTokens : ITileTokens
{
    public static int Count => 2;
}

/// <summary>The tokens left over after the full tiles, one at a time.</summary>
internal struct OneToken : ITileTokens
{
    public static int Count => 1;
}
