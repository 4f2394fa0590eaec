using System.Runtime.CompilerServices;
using Mesh.Inference.Models;

namespace Mesh.Inference.Backends.Cpu;

/// <summary>
/// Rotary position embedding in both of llama.cpp's layouts: adjacent pairs (v[2j], v[2j+1]) for the
/// <c>llama</c> architecture and llama2.c, halves (v[j], v[j+head_dim/2]) for NeoX-style models
/// (qwen2, qwen3, and Hugging Face's unpermuted Llama weights). Pair j of a head is rotated by
/// pos · θ^(-2j/head_dim) / factor_j, where the optional factors are Llama 3.1's frequency divisors
/// (llama.cpp's <c>rope_freqs</c>). The cosines and sines are tabulated once per position, in f32 as
/// llama2.c computes them.
/// </summary>
internal sealed class CpuRope
{
    private readonly int _headDim;
    private readonly RopeStyle _style;
    private readonly float[] _cos;
    private readonly float[] _sin;

    public CpuRope(LlamaConfig config)
    {
        _headDim = config.HeadDim;
        _style = config.RopeStyle;
        var half = _headDim / 2;
        _cos = new float[config.ContextLength * half];
        _sin = new float[config.ContextLength * half];
        for (var pos = 0; pos < config.ContextLength; pos++)
        {
            for (var j = 0; j < half; j++)
            {
                var frequency = 1.0f / MathF.Pow(config.RopeTheta, 2 * j / (float)_headDim);
                if (config.RopeFrequencyFactors is { } factors)
                {
                    frequency /= factors[j];
                }

                var angle = pos * frequency;
                _cos[(pos * half) + j] = MathF.Cos(angle);
                _sin[(pos * half) + j] = MathF.Sin(angle);
            }
        }
    }

    /// <summary>
    /// Rotates every head of <paramref name="vector"/> (a multiple of head_dim long) in place; with
    /// <paramref name="inverse"/> by the opposite angles, which is the rotation's transpose: training's
    /// backward pass maps the gradient of a rotated vector to that of the unrotated one with it.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Rotate(Span<float> vector, int position, bool inverse = false)
    {
        var half = _headDim / 2;
        var cos = _cos.AsSpan(position * half, half);
        var sin = _sin.AsSpan(position * half, half);
        // Adjacent: pair j is (2j, 2j+1). NeoX: pair j is (j, j+half).
        var (stride, partner) = _style == RopeStyle.Adjacent ? (2, 1) : (1, half);
        for (var head = 0; head < vector.Length; head += _headDim)
        {
            for (var j = 0; j < half; j++)
            {
                var i = head + (stride * j);
                var a = vector[i];
                var b = vector[i + partner];
                var s = inverse ? -sin[j] : sin[j];
                vector[i] = (a * cos[j]) - (b * s);
                vector[i + partner] = (a * s) + (b * cos[j]);
            }
        }
    }
}
