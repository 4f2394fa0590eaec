namespace Mesh.Kernels.Launch;

/// <summary>Storage formats of weight matrices the kernels read.</summary>
public enum WeightFormat
{
    /// <summary>IEEE 754 single precision, 4 bytes per value.</summary>
    F32,
    /// <summary>IEEE 754 half precision, 2 bytes per value.</summary>
    F16,
    /// <summary>bfloat16 (the top 16 bits of an f32), 2 bytes per value.</summary>
    BF16,

    /// <summary>GGML Q8_0 values, stored on the GPU in <see cref="Layout.Q8Layout"/>'s split form.</summary>
    Q8_0,
}
