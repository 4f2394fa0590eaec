using System.Runtime.InteropServices;

namespace Mesh.Kernels.Sampling;

/// <summary>
/// Per-row sampling parameters, laid out as the sample_f32 kernel reads them (32 bytes).
/// </summary>
/// <param name="Temperature">≤ 0: greedy (argmax); otherwise logits are divided by it.</param>
/// <param name="TopK">0 or ≥ vocab: off; else keep the k largest logits (ties at the k-th kept).</param>
/// <param name="TopP">≥ 1: off; else keep the fewest largest tokens whose mass reaches this fraction.</param>
/// <param name="MinP">0: off; else keep tokens whose probability is at least this fraction of the best's.</param>
/// <param name="Seed">The request's seed (the Philox key).</param>
/// <param name="Step">The decode step (the Philox counter), so each step draws a fresh number.</param>
[StructLayout(LayoutKind.Sequential, Size = 32)]
public readonly record struct SamplingRow(float Temperature, uint TopK, float TopP, float MinP, ulong Seed, uint Step)
{
    /// <summary>Greedy decoding.</summary>
    public static SamplingRow Greedy => new(0f, 0, 1f, 0f, 0, 0);
}
