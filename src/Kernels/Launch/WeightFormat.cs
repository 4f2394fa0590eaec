namespace Mesh.Kernels.Launch;

/// <summary>Storage formats of weight matrices the kernels read.</summary>
public enum WeightFormat
{
    F32,
    F16,
    BF16,

    /// <summary>GGML Q8_0 values, stored on the GPU in <see cref="Layout.Q8Layout"/>'s split form.</summary>
    Q8_0,
}
