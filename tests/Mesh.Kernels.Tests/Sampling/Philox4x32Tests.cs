using Mesh.Kernels.Sampling;

namespace Mesh.Kernels.Tests.Sampling;

public class Philox4x32Tests
{
    // Known-answer vectors of Philox4x32-10 from Random123's kat_vectors (counter, key → output).
    [Theory]
    [InlineData(0u, 0u, 0u, 0u, 0u, 0u, 0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u)]
    [InlineData(0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu, 0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu)]
    [InlineData(0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u, 0xa4093822u, 0x299f31d0u, 0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u)]
    public void Matches_the_Random123_known_answers(uint c0, uint c1, uint c2, uint c3, uint k0, uint k1, uint x0, uint x1, uint x2, uint x3)
    {
        Assert.Equal((x0, x1, x2, x3), Philox4x32.Generate((c0, c1, c2, c3), (k0, k1)));
    }

    [Fact]
    public void Uniforms_are_in_the_unit_interval_and_differ_by_step_and_seed()
    {
        var seen = new HashSet<float>();
        for (uint step = 0; step < 1000; step++)
        {
            var u = Philox4x32.Uniform(42, step);
            Assert.InRange(u, 0f, 0.99999994f);
            seen.Add(u);
        }
        Assert.True(seen.Count > 990, $"only {seen.Count} distinct uniforms in 1000 steps");
        Assert.NotEqual(Philox4x32.Uniform(1, 0), Philox4x32.Uniform(2, 0));
        Assert.NotEqual(Philox4x32.Uniform(1UL << 32, 0), Philox4x32.Uniform(0, 0)); // the seed's high word is part of the key
        Assert.Equal(Philox4x32.Uniform(7, 3), Philox4x32.Uniform(7, 3));
    }
}
