namespace Mesh.Inference.Sampling;

/// <summary>
/// Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC'11): a
/// counter-based generator. The n-th draw of a request is a pure function of (seed, n), so a draw
/// needs no state carried between steps, and the GPU sampling kernel computes the very same numbers.
/// </summary>
public static class Philox
{
    private const uint M0 = 0xD2511F53;
    private const uint M1 = 0xCD9E8D57;
    private const uint W0 = 0x9E3779B9;
    private const uint W1 = 0xBB67AE85;

    /// <summary>The 128-bit block for <paramref name="counter"/> under <paramref name="key"/>.</summary>
    public static (uint X0, uint X1, uint X2, uint X3) Block(ulong counter, ulong key) =>
        Block((uint)counter, (uint)(counter >> 32), 0, 0, (uint)key, (uint)(key >> 32));

    public static (uint X0, uint X1, uint X2, uint X3) Block(uint c0, uint c1, uint c2, uint c3, uint k0, uint k1)
    {
        for (var round = 0; round < 10; round++)
        {
            var p0 = (ulong)M0 * c0;
            var p1 = (ulong)M1 * c2;
            (c0, c1, c2, c3) = ((uint)(p1 >> 32) ^ c1 ^ k0, (uint)p1, (uint)(p0 >> 32) ^ c3 ^ k1, (uint)p0);
            k0 += W0;
            k1 += W1;
        }

        return (c0, c1, c2, c3);
    }

    /// <summary>A uniform float in [0, 1) for draw number <paramref name="counter"/> of <paramref name="seed"/>.</summary>
    public static float Uniform(ulong seed, ulong counter) => (Block(counter, seed).X0 >> 8) * (1f / (1 << 24));
}
