namespace Mesh.Kernels.Sampling;

/// <summary>
/// Philox4x32-10, the counter-based generator of Salmon et al., "Parallel Random Numbers: As Easy as
/// 1, 2, 3" (SC'11, the Random123 library): 10 rounds of multiply-xor on a 128-bit counter under a
/// 64-bit key. Being a pure function of (key, counter) it gives the GPU kernel and the CPU the same
/// stream with no state to share: a request's seed is the key and its decode step the counter.
/// </summary>
public static class Philox4x32
{
    private const uint M0 = 0xD2511F53, M1 = 0xCD9E8D57, W0 = 0x9E3779B9, W1 = 0xBB67AE85;

    /// <summary>The 4 output words for <paramref name="counter"/> under <paramref name="key"/>.</summary>
    public static (uint X0, uint X1, uint X2, uint X3) Generate((uint C0, uint C1, uint C2, uint C3) counter, (uint K0, uint K1) key)
    {
        var (c0, c1, c2, c3) = counter;
        var (k0, k1) = key;
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

    /// <summary>
    /// The uniform in [0, 1) that sampling step <paramref name="step"/> of a request seeded with
    /// <paramref name="seed"/> draws: the top 24 bits of the first output word, so it is exact in f32.
    /// </summary>
    public static float Uniform(ulong seed, uint step)
    {
        var (x0, _, _, _) = Generate((step, 0, 0, 0), ((uint)seed, (uint)(seed >> 32)));
        return (x0 >> 8) * (1f / (1 << 24));
    }
}
