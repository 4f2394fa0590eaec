using System.Runtime.InteropServices;

namespace Mesh.Kernels.Tests.Driver;

/// <summary>
/// A fact about a machine without the NVIDIA driver (what Mesh does when libcuda.so.1 is absent);
/// skipped, with the reason, where the driver is installed: there scripts/gpu-check.sh runs the GPU
/// path for real.
/// </summary>
public sealed class NoCudaDriverFactAttribute : FactAttribute
{
    public NoCudaDriverFactAttribute()
    {
        if (NativeLibrary.TryLoad("libcuda.so.1", out var handle))
        {
            NativeLibrary.Free(handle);
            Skip = "the NVIDIA driver (libcuda.so.1) is installed here, so its absence cannot be observed; scripts/gpu-check.sh covers the GPU path";
        }
    }
}
