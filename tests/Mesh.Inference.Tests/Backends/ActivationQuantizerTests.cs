using Mesh.Inference.Backends.Cpu;
using Mesh.Inference.Models;

namespace Mesh.Inference.Tests.Backends;

/// <summary>
/// The activation quantizers (Q8_0 per 32 values, Q8_K per 256) give exactly ggml's quants, scales
/// and sums — written out here one value at a time as quantize_row_q8_0 / quantize_row_q8_K state
/// them — for values whose scaled form falls on .5 (rounded half to even), blocks of zeros, blocks
/// whose largest magnitude is negative, and random rows; and the block, four-value and group sums the
/// integer kernels start from are the sums of those quants.
/// </summary>
public sealed unsafe class ActivationQuantizerTests
{
    [Fact]
    public void Q8_0QuantsScalesAndSumsAreGgmlsOneValueAtATime()
    {
        var x = Rows(rows: 3, cols: 512, seed: 1);
        using var activations = new CpuActivations();
        x.CopyTo(new Span<float>(activations.Reset(3, 512), x.Length));
        activations.EnsureQuantized();
        for (var b = 0; b < x.Length / 32; b++)
        {
            var block = x.AsSpan(b * 32, 32);
            var max = 0f;
            foreach (var v in block)
            {
                max = Math.Max(max, Math.Abs(v));
            }

            var inverse = max != 0 ? 127f / max : 0f;
            var sum = 0;
            for (var i = 0; i < 32; i++)
            {
                var q = (int)MathF.Round(block[i] * inverse, MidpointRounding.ToEven);
                Assert.True(q == activations.Q8[(b * 32) + i], $"block {b} value {i} ({block[i]:R}): quant {activations.Q8[(b * 32) + i]}, ggml {q}");
                sum += q;
            }

            Assert.Equal(-sum, activations.Q8BlockSumsNegated[b]);

            Assert.Equal((float)(Half)(max / 127f), activations.Q8Scales[b]);
            Assert.Equal((float)(Half)(max / 127f * sum), activations.Q8Offsets[b]);
        }
    }

    [Fact]
    public void Q8_KQuantsScalesAndSumsAreGgmlsOneValueAtATime()
    {
        var x = Rows(rows: 3, cols: 768, seed: 2);
        using var activations = new CpuActivations();
        x.CopyTo(new Span<float>(activations.Reset(3, 768), x.Length));
        activations.EnsureQuantizedK();
        for (var s = 0; s < x.Length / KQuants.SuperBlockSize; s++)
        {
            var block = x.AsSpan(s * KQuants.SuperBlockSize, KQuants.SuperBlockSize);
            var max = 0f;
            foreach (var v in block)
            {
                if (Math.Abs(v) > Math.Abs(max))
                {
                    max = v;
                }
            }

            var quants = activations.Q8K + (s * KQuants.SuperBlockSize);
            if (max == 0)
            {
                Assert.Equal(0f, activations.Q8KScales[s]);
                Assert.All(new ReadOnlySpan<sbyte>(quants, KQuants.SuperBlockSize).ToArray(), q => Assert.Equal(0, q));
                continue;
            }

            var inverse = -127f / max;
            for (var i = 0; i < KQuants.SuperBlockSize; i++)
            {
                var q = Math.Min(127, (int)MathF.Round(inverse * block[i], MidpointRounding.ToEven));
                Assert.True(q == quants[i], $"super-block {s} value {i} ({block[i]:R}): quant {quants[i]}, ggml {q}");
            }

            for (var g = 0; g < KQuants.GroupsPerSuperBlock; g++)
            {
                var sum = 0;
                for (var i = 0; i < KQuants.GroupSize; i++)
                {
                    sum += quants[(g * KQuants.GroupSize) + i];
                }

                Assert.Equal(sum, activations.Q8KSums[(s * KQuants.GroupsPerSuperBlock) + g]);
            }

            for (var quad = 0; quad < KQuants.SuperBlockSize / 4; quad++)
            {
                Assert.Equal(-(quants[4 * quad] + quants[(4 * quad) + 1] + quants[(4 * quad) + 2] + quants[(4 * quad) + 3]), activations.Q8KQuadSumsNegated[(s * 64) + quad]);
            }

            Assert.Equal(1f / inverse, activations.Q8KScales[s]);
        }
    }

    /// <summary>
    /// Rows whose 256-value stretches are: ties (largest magnitude ±127, so the scale is 1 and halves
    /// stay halves), zeros, a negative largest magnitude, and random values.
    /// </summary>
    private static float[] Rows(int rows, int cols, int seed)
    {
        var random = new Random(seed);
        var x = new float[rows * cols];
        for (var start = 0; start < x.Length; start += 256)
        {
            var kind = (start / 256) % 4;
            for (var i = 0; i < 256; i++)
            {
                x[start + i] = kind switch
                {
                    0 => i % 32 == 0 ? 127f : (random.Next(-253, 254) / 2f), // halves: 2.5, −3.5, …
                    1 => 0f,
                    2 => i % 32 == 5 ? -127f : (random.Next(-253, 254) / 2f),
                    _ => (float)((random.NextDouble() * 8) - 4),
                };
            }
        }

        return x;
    }
}
