using Mesh.Inference.Backends.Cpu;
using Mesh.Inference.Models;
using Mesh.Inference.Models.Gguf;
using static Mesh.Inference.Tests.Backends.QuantKernelEdgeTests;

namespace Mesh.Inference.Tests.Backends;

/// <summary>
/// Q8_0 on the block-integer kernels against what a hostile or broken weight file and extreme
/// activations can hold: quants of −128 or +127 everywhere (the int16 pairs of the AVX2 kernels and
/// the q + 128 bias of vpdpbusd at their limits), f16 scales of ±65504, denormals, ±∞ and NaN, and
/// activations of ±float.MaxValue, denormals, ±∞ and NaN. Every path (prefill tile, VNNI and AVX2
/// eight-row passes, the unpack path) must give the bits of the stated order's scalar reference.
/// </summary>
[Collection(SerialCollection.Name)]
public sealed unsafe class Q8HostileInputTests
{
    private const int BlockBytes = 34;

    /// <summary>f16 scale bit patterns: 0, −0, ±max, the smallest denormal, ±∞, a quiet and a payload NaN, 1.</summary>
    private static readonly ushort[] Scales = [0x0000, 0x8000, 0x7BFF, 0xFBFF, 0x0001, 0x7C00, 0xFC00, 0x7E00, 0x7C01, 0x3C00];

    /// <summary>Every quant one value (−128, +127, 0, −1), or random bytes (null).</summary>
    public static TheoryData<sbyte?> Quants() => new(sbyte.MinValue, sbyte.MaxValue, (sbyte)0, (sbyte)-1, null);

    [Theory]
    [MemberData(nameof(Quants))]
    public void EveryQ8PathGivesTheStatedOrderForExtremeQuantsScalesAndActivations(sbyte? quant)
    {
        foreach (var cols in new[] { 32, 64, 96 })
        {
            foreach (var rows in new[] { 1, 3, 9, 17, 33 })
            {
                var random = new Random(cols + (rows * 7) + (quant ?? 1000));
                var weights = new byte[rows * cols / 32 * BlockBytes];
                for (var b = 0; b < weights.Length / BlockBytes; b++)
                {
                    var block = weights.AsSpan(b * BlockBytes, BlockBytes);
                    BitConverter.TryWriteBytes(block, Scales[random.Next(Scales.Length)]);
                    if (quant is { } q)
                    {
                        block[2..].Fill((byte)q);
                    }
                    else
                    {
                        random.NextBytes(block[2..]);
                    }
                }

                fixed (byte* data = weights)
                {
                    var w = new WeightMatrix("w", GgmlType.Q8_0, rows, cols, (nint)data);
                    foreach (var n in new[] { 1, 2, 5, 8, 19 })
                    {
                        using var x = HostileTokens(n, cols, random);
                        var expected = QuantKernelEdgeTests.Reference(w, x);
                        foreach (var path in BlockPaths)
                        {
                            var y = Multiply(w, x, path);
                            for (var i = 0; i < y.Length; i++)
                            {
                                Assert.True(
                                    SameBits(y[i], expected[i]),
                                    $"quants {quant?.ToString() ?? "random"}, {rows}x{cols}, {n} tokens, path {path}: token {i / rows} row {i % rows}: {y[i]:R} ({BitConverter.SingleToInt32Bits(y[i]):X8}), stated order {expected[i]:R} ({BitConverter.SingleToInt32Bits(expected[i]):X8})");
                            }
                        }
                    }
                }
            }
        }
    }

    /// <summary>
    /// Equal bits, any NaN matching any NaN: which operand's payload a NaN·NaN product keeps follows the
    /// JIT's operand order, which nothing can observe (every comparison with a NaN logit is false).
    /// </summary>
    private static bool SameBits(float a, float b) =>
        (float.IsNaN(a) && float.IsNaN(b)) || BitConverter.SingleToInt32Bits(a) == BitConverter.SingleToInt32Bits(b);

    /// <summary>Rows cycling through ±float.MaxValue, denormals, ±∞, NaN, ±127-quant patterns and random values.</summary>
    private static CpuActivations HostileTokens(int n, int cols, Random random)
    {
        var x = new CpuActivations();
        var values = new Span<float>(x.Reset(n, cols), n * cols);
        for (var t = 0; t < n; t++)
        {
            for (var i = 0; i < cols; i++)
            {
                values[(t * cols) + i] = (t % 8) switch
                {
                    0 => i % 2 == 0 ? float.MaxValue : -float.MaxValue,
                    1 => i % 3 == 0 ? -1e-40f : 3e-41f,
                    2 => i == 5 ? float.PositiveInfinity : 1f,
                    3 => i == 7 ? float.NaN : -1f,
                    4 => i % 3 == 0 ? -1.5f : 1.5f,
                    5 => -0.75f,
                    6 => i == 0 ? float.NegativeInfinity : (float)((random.NextDouble() * 2) - 1),
                    _ => (float)((random.NextDouble() * 2) - 1),
                };
            }
        }

        x.EnsureQuantized();
        return x;
    }
}
