namespace Mesh.Kernels.Driver;

/// <summary>The device attributes this project reads (<c>CUdevice_attribute</c> in cuda.h).</summary>
public enum CuDeviceAttribute
{
    /// <summary>Most threads one block may have.</summary>
    MaxThreadsPerBlock = 1,
    /// <summary>Shared memory a block gets without opting in, in bytes.</summary>
    MaxSharedMemoryPerBlock = 8,
    /// <summary>Threads per warp.</summary>
    WarpSize = 10,
    /// <summary>Peak SM clock, in kHz.</summary>
    ClockRate = 13,
    /// <summary>Streaming multiprocessors on the device.</summary>
    MultiprocessorCount = 16,
    /// <summary>Peak memory clock, in kHz.</summary>
    MemoryClockRate = 36,
    /// <summary>Global memory bus width, in bits.</summary>
    GlobalMemoryBusWidth = 37,
    /// <summary>L2 cache size, in bytes.</summary>
    L2CacheSize = 38,
    /// <summary>Compute capability, major number (9 for sm_90).</summary>
    ComputeCapabilityMajor = 75,
    /// <summary>Compute capability, minor number.</summary>
    ComputeCapabilityMinor = 76,
    /// <summary>Shared memory a block may have after opting in (cuFuncSetAttribute), in bytes.</summary>
    MaxSharedMemoryPerBlockOptin = 97,
}
