namespace Mesh.Kernels;

/// <summary>Placeholder until the driver binding lands (issue: Kernels).</summary>
public static class CudaAvailability
{
}
