using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Mesh.Inference.Models;

namespace Mesh.Inference.Backends.Cpu;

/// <summary>
/// The input of a matrix multiplication: n rows of f32 activations and, when the weights are
/// quantized, the same rows quantized to int8 as ggml does, so the inner loop is an integer dot
/// product: Q8_0 (one scale and one sum of quants per 32 values) for the 32-value block types, Q8_K
/// (one scale per 256 values and one sum of quants per 16) for the K-quants.
/// </summary>
internal sealed unsafe class CpuActivations : IDisposable
{
    private float* _f32;
    private sbyte* _q8;
    private float* _q8Scales;
    private float* _q8Offsets;
    private sbyte* _q8k;
    private float* _q8kScales;
    private short* _q8kSums;
    private int* _q8BlockSumsNegated;
    private int* _q8kQuadSumsNegated;
    private int _capacity;

    public int Rows { get; private set; }

    public int Cols { get; private set; }

    public bool IsQuantized { get; private set; }

    public bool IsQuantizedK { get; private set; }

    public float* F32 => _f32;

    public sbyte* Q8 => _q8;

    public float* Q8Scales => _q8Scales;

    /// <summary>Each 32-value block's scale × the sum of its quants (the offset term of Q4_1 and Q5_1).</summary>
    public float* Q8Offsets => _q8Offsets;

    /// <summary>Rows quantized per 256 values (Q8_K); valid after <see cref="EnsureQuantizedK"/>.</summary>
    public sbyte* Q8K => _q8k;

    public float* Q8KScales => _q8kScales;

    /// <summary>The sum of the Q8_K quants of each group of 16 values (for the K-quants' mins and offsets).</summary>
    public short* Q8KSums => _q8kSums;

    /// <summary>
    /// −(the sum of each 32-value block's Q8_0 quants), one int32 per block: times a weight type's bias
    /// (8 for Q4_0, 16 for Q5_0, 128 for Q8_0 read as unsigned) the correction that lets unsigned
    /// weight quants go straight into vpdpbusd, added to each block's integer sum; computed once here,
    /// however many weight rows then read the activations.
    /// </summary>
    public int* Q8BlockSumsNegated => _q8BlockSumsNegated;

    /// <summary>
    /// −(the sum of each four consecutive Q8_K quants), one int32 per four values: the lanes vpdpbusd
    /// forms. Times Q6_K's bias of 32 it is the lanes' starting value in its VNNI kernel.
    /// </summary>
    public int* Q8KQuadSumsNegated => _q8kQuadSumsNegated;

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
            _q8Offsets = (float*)NativeMemory.AlignedAlloc((nuint)(_capacity / Dequantize.Q8BlockSize + 1) * sizeof(float), 64);
            _q8k = (sbyte*)NativeMemory.AlignedAlloc((nuint)_capacity, 64);
            _q8kScales = (float*)NativeMemory.AlignedAlloc((nuint)(_capacity / KQuants.SuperBlockSize + 1) * sizeof(float), 64);
            _q8kSums = (short*)NativeMemory.AlignedAlloc((nuint)(_capacity / KQuants.GroupSize + 1) * sizeof(short), 64);
            _q8BlockSumsNegated = (int*)NativeMemory.AlignedAlloc((nuint)(_capacity / Dequantize.Q8BlockSize + 1) * sizeof(int), 64);
            _q8kQuadSumsNegated = (int*)NativeMemory.AlignedAlloc((nuint)(_capacity / 4 + 1) * sizeof(int), 64);
        }

        Rows = rows;
        Cols = cols;
        IsQuantized = false;
        IsQuantizedK = false;
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
            // ggml's x86 rule for activations: quants from 127 / max|x|, rounded half to even; the
            // scale stored as f16 (as block_q8_0 holds it), and for Q4_1/Q5_1 the block's offset
            // term s = scale × Σq, also f16 (block_q8_1).
            var offset = b * Dequantize.Q8BlockSize;
            var block = new ReadOnlySpan<float>(_f32 + offset, Dequantize.Q8BlockSize);
            var max = MathF.Abs(TensorPrimitives.MaxMagnitude(block));
            var scale = max / 127f;
            var inverse = max != 0 ? 127f / max : 0f;
            int sum;
            if (Avx2.IsSupported && float.IsFinite(max) && float.IsFinite(inverse))
            {
                sum = -QuantizeChunk(_f32 + offset, inverse, _q8 + offset, null);
            }
            else
            {
                sum = 0;
                for (var i = 0; i < Dequantize.Q8BlockSize; i++)
                {
                    var q = (int)MathF.Round(block[i] * inverse, MidpointRounding.ToEven);
                    _q8[offset + i] = (sbyte)q;
                    sum += q;
                }
            }

            _q8BlockSumsNegated[b] = -sum;
            _q8Scales[b] = (float)(Half)scale;
            _q8Offsets[b] = (float)(Half)(scale * sum);
        }

        IsQuantized = true;
    }

    /// <summary>Quantizes the f32 rows to Q8_K: Cols must be a multiple of 256 (the loader checks K-quant rows are).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void EnsureQuantizedK()
    {
        if (IsQuantizedK)
        {
            return;
        }

        var superBlocks = Rows * Cols / KQuants.SuperBlockSize;
        for (var s = 0; s < superBlocks; s++)
        {
            // ggml's quantize_row_q8_K: scale from the value of largest magnitude with its sign
            // (−127 / max), quants rounded half to even and capped at 127, f32 scale 1 / that.
            var offset = s * KQuants.SuperBlockSize;
            var block = new ReadOnlySpan<float>(_f32 + offset, KQuants.SuperBlockSize);
            var max = TensorPrimitives.MaxMagnitude(block);
            var quants = _q8k + offset;
            if (max == 0)
            {
                new Span<sbyte>(quants, KQuants.SuperBlockSize).Clear();
                new Span<short>(_q8kSums + (s * KQuants.GroupsPerSuperBlock), KQuants.GroupsPerSuperBlock).Clear();
                _q8kScales[s] = 0;
                new Span<int>(_q8kQuadSumsNegated + (offset / 4), KQuants.SuperBlockSize / 4).Clear();
                continue;
            }

            var inverse = -127f / max;
            var negated = _q8kQuadSumsNegated + (offset / 4);
            if (Avx2.IsSupported && float.IsFinite(max) && float.IsFinite(inverse))
            {
                for (var c = 0; c < KQuants.SuperBlockSize; c += 32)
                {
                    QuantizeChunk(_f32 + offset + c, inverse, quants + c, negated + (c / 4));
                }
            }
            else
            {
                for (var i = 0; i < KQuants.SuperBlockSize; i++)
                {
                    quants[i] = (sbyte)Math.Min(127, (int)MathF.Round(inverse * block[i], MidpointRounding.ToEven));
                }

                QuadSumsNegated(quants, KQuants.SuperBlockSize, negated);
            }

            for (var g = 0; g < KQuants.GroupsPerSuperBlock; g++)
            {
                // A group of 16 is four four-value sums.
                var quads = negated + (g * 4);
                _q8kSums[(s * KQuants.GroupsPerSuperBlock) + g] = (short)-(quads[0] + quads[1] + quads[2] + quads[3]);
            }

            _q8kScales[s] = 1f / inverse;
        }

        IsQuantizedK = true;
    }

    public void Dispose() => Free();

    /// <summary>
    /// 32 values quantized as the scalar loops do (x · inverse rounded half to even: vroundps's
    /// default mode; |x · inverse| ≤ 127 once rounded for a finite block maximum, so the packs never
    /// saturate and the Q8_K cap at 127 never binds), their negated four-value sums stored (unless
    /// <paramref name="quadSumsNegated"/> is null: Q8_0 keeps only the block's), and their negated sum returned.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int QuantizeChunk(float* x, float inverse, sbyte* quants, int* quadSumsNegated)
    {
        var scale = Vector256.Create(inverse);
        var i0 = Avx.ConvertToVector256Int32(Avx.RoundToNearestInteger(Avx.Multiply(Avx.LoadVector256(x), scale)));
        var i1 = Avx.ConvertToVector256Int32(Avx.RoundToNearestInteger(Avx.Multiply(Avx.LoadVector256(x + 8), scale)));
        var i2 = Avx.ConvertToVector256Int32(Avx.RoundToNearestInteger(Avx.Multiply(Avx.LoadVector256(x + 16), scale)));
        var i3 = Avx.ConvertToVector256Int32(Avx.RoundToNearestInteger(Avx.Multiply(Avx.LoadVector256(x + 24), scale)));
        // The packs interleave 128-bit lanes; the permute puts the 32 bytes back in order.
        var packed = Avx2.PackSignedSaturate(Avx2.PackSignedSaturate(i0, i1), Avx2.PackSignedSaturate(i2, i3));
        var q = Avx2.PermuteVar8x32(packed.AsInt32(), Vector256.Create(0, 4, 1, 5, 2, 6, 3, 7)).AsSByte();
        Avx.Store(quants, q);
        var quads = Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(Vector256.Create((byte)1), q), Vector256.Create((short)1));
        var negated = Avx2.Subtract(Vector256<int>.Zero, quads);
        if (quadSumsNegated != null)
        {
            Avx.Store(quadSumsNegated, negated);
        }

        return Vector256.Sum(negated);
    }

    private static void QuadSumsNegated(sbyte* quants, int count, int* sums)
    {
        for (var i = 0; i < count; i += 4)
        {
            sums[i / 4] = -(quants[i] + quants[i + 1] + quants[i + 2] + quants[i + 3]);
        }
    }

    private void Free()
    {
        NativeMemory.AlignedFree(_f32);
        NativeMemory.AlignedFree(_q8);
        NativeMemory.AlignedFree(_q8Scales);
        NativeMemory.AlignedFree(_q8Offsets);
        NativeMemory.AlignedFree(_q8k);
        NativeMemory.AlignedFree(_q8kScales);
        NativeMemory.AlignedFree(_q8kSums);
        NativeMemory.AlignedFree(_q8BlockSumsNegated);
        NativeMemory.AlignedFree(_q8kQuadSumsNegated);
        _f32 = null;
        _q8 = null;
        _q8Scales = null;
        _q8Offsets = null;
        _q8k = null;
        _q8kScales = null;
        _q8kSums = null;
        _q8BlockSumsNegated = null;
        _q8kQuadSumsNegated = null;
    }
}
