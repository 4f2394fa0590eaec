using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Mesh.Inference.Models;

namespace Mesh.Inference.Backends.Cpu;

/// <summary>
/// The input of a matrix multiplication: n rows of f32 activations and, when the weights are Q8_0,
/// the same rows quantized to int8 with one scale per 32 values, so the inner loop is an integer dot
/// product (what llama.cpp does; it halves the bytes the activations take in cache).
/// </summary>
internal sealed unsafe class CpuActivations : IDisposable
{
    private float* _f32;
    private sbyte* _q8;
    private float* _q8Scales;
    private int _capacity;

    public int Rows { get; private set; }

    public int Cols { get; private set; }

    public bool IsQuantized { get; private set; }

    public float* F32 => _f32;

    public sbyte* Q8 => _q8;

    public float* Q8Scales => _q8Scales;

    /// <summary>Prepares room for <paramref name="rows"/> × <paramref name="cols"/> activations.</summary>
    public float* Reset(int rows, int cols)
    {
        var needed = rows * cols;
        if (needed > _capacity)
        {
            Free();
            _capacity = Math.Max(needed, _capacity * 2);
            _f32 = (float*)NativeMemory.AlignedAlloc((nuint)_capacity * sizeof(float), 64);
            _q8 = (sbyte*)NativeMemory.AlignedAlloc((nuint)_capacity, 64);
            _q8Scales = (float*)NativeMemory.AlignedAlloc((nuint)(_capacity / Dequantize.Q8BlockSize + 1) * sizeof(float), 64);
        }

        Rows = rows;
        Cols = cols;
        IsQuantized = false;
        return _f32;
    }

    public ReadOnlySpan<float> Row(int row) => new(_f32 + ((nint)row * Cols), Cols);

    /// <summary>Quantizes the f32 rows to Q8 (once per input, however many Q8_0 matrices then read it).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void EnsureQuantized()
    {
        if (IsQuantized)
        {
            return;
        }

        var blocks = Rows * Cols / Dequantize.Q8BlockSize;
        for (var b = 0; b < blocks; b++)
        {
            var offset = b * Dequantize.Q8BlockSize;
            _q8Scales[b] = Dequantize.QuantizeBlock(
                new ReadOnlySpan<float>(_f32 + offset, Dequantize.Q8BlockSize),
                new Span<sbyte>(_q8 + offset, Dequantize.Q8BlockSize));
        }

        IsQuantized = true;
    }

    public void Dispose() => Free();

    private void Free()
    {
        NativeMemory.AlignedFree(_f32);
        NativeMemory.AlignedFree(_q8);
        NativeMemory.AlignedFree(_q8Scales);
        _f32 = null;
        _q8 = null;
        _q8Scales = null;
    }
}
