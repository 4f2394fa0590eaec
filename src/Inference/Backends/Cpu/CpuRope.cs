using System.Runtime.CompilerServices;

namespace Mesh.Inference.Backends.Cpu;

/// <summary>
/// Rotary position embedding in the adjacent-pair layout of llama2.c and llama.cpp's "normal" mode:
/// within each head, the pair (v[2j], v[2j+1]) is rotated by pos · θ^(-2j/head_dim). The angles'
/// cosines and sines are tabulated once per position, computed in f32 as llama2.c computes them.
/// </summary>
internal sealed class CpuRope
{
    private readonly int _headDim;
    private readonly float[] _cos;
    private readonly float[] _sin;

    public CpuRope(int headDim, int contextLength, float theta)
    {
        _headDim = headDim;
        var half = headDim / 2;
        _cos = new float[contextLength * half];
        _sin = new float[contextLength * half];
        for (var pos = 0; pos < contextLength; pos++)
        {
            for (var j = 0; j < half; j++)
            {
                var frequency = 1.0f / MathF.Pow(theta, 2 * j / (float)headDim);
                var angle = pos * frequency;
                _cos[(pos * half) + j] = MathF.Cos(angle);
                _sin[(pos * half) + j] = MathF.Sin(angle);
            }
        }
    }

    /// <summary>Rotates every head of <paramref name="vector"/> (a multiple of head_dim long) in place.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Rotate(Span<float> vector, int position)
    {
        var half = _headDim / 2;
        var cos = _cos.AsSpan(position * half, half);
        var sin = _sin.AsSpan(position * half, half);
        for (var head = 0; head < vector.Length; head += _headDim)
        {
            for (var j = 0; j < half; j++)
            {
                var a = vector[head + (2 * j)];
                var b = vector[head + (2 * j) + 1];
                vector[head + (2 * j)] = (a * cos[j]) - (b * sin[j]);
                vector[head + (2 * j) + 1] = (a * sin[j]) + (b * cos[j]);
            }
        }
    }
}
