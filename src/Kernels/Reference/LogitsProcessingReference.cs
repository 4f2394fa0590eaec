using Mesh.Kernels.Sampling;

namespace Mesh.Kernels.Reference;

/// <summary>
/// What logits_process_f32 does to one row, on the CPU: the structured-output mask (bit i of
/// <c>mask</c> clear: token i becomes −∞), then the penalties over the row's distinct recent
/// tokens with the CPU Sampler's arithmetic (each operation rounded once, so the device gives
/// the same floats).
/// </summary>
public static class LogitsProcessingReference
{
    /// <summary>Mask words for a vocabulary: one bit per token.</summary>
    public static int MaskWords(int vocab) => (vocab + 31) / 32;

    /// <summary>
    /// Applies <paramref name="mask"/> (<see cref="MaskWords"/> words) and the penalties of
    /// (<paramref name="tokens"/>[i], <paramref name="counts"/>[i]) to <paramref name="logits"/>
    /// in place; tokens outside the vocabulary are skipped, as the CPU sampler skips them.
    /// </summary>
    public static void Apply(Span<float> logits, ReadOnlySpan<uint> mask, ReadOnlySpan<int> tokens, ReadOnlySpan<int> counts, LogitPenalties penalties)
    {
        for (var i = 0; i < logits.Length; i++)
        {
            if (((mask[i >> 5] >> (i & 31)) & 1) == 0)
            {
                logits[i] = float.NegativeInfinity;
            }
        }
        for (var e = 0; e < tokens.Length; e++)
        {
            var token = tokens[e];
            if ((uint)token >= (uint)logits.Length)
            {
                continue;
            }
            var x = logits[token];
            x = x > 0 ? x / penalties.Repetition : x * penalties.Repetition;
            logits[token] = x - (counts[e] * penalties.Frequency) - penalties.Presence;
        }
    }
}
