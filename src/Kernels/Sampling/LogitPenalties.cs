using System.Runtime.InteropServices;

namespace Mesh.Kernels.Sampling;

/// <summary>
/// One row's penalties as the logits_process_f32 kernel reads them (12 bytes): llama.cpp's
/// repetition penalty (divide positive logits, multiply negative ones) and OpenAI's frequency
/// (per occurrence) and presence (once) penalties, over the row's recent tokens.
/// </summary>
/// <param name="Repetition">1: off.</param>
/// <param name="Frequency">0: off; subtracted once per occurrence.</param>
/// <param name="Presence">0: off; subtracted once for any occurrence.</param>
[StructLayout(LayoutKind.Sequential)]
public readonly record struct LogitPenalties(float Repetition, float Frequency, float Presence)
{
    /// <summary>No penalty.</summary>
    public static LogitPenalties None => new(1f, 0f, 0f);
}
