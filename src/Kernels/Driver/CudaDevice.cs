using System.Runtime.InteropServices;

namespace Mesh.Kernels.Driver;

/// <summary>One CUDA device: its name, memory and attributes, and its primary context.</summary>
public sealed unsafe class CudaDevice
{
    internal CudaDevice(int handle, int ordinal)
    {
        Handle = handle;
        Ordinal = ordinal;
    }

    internal int Handle { get; }

    /// <summary>The ordinal the device was opened with.</summary>
    public int Ordinal { get; }

    /// <summary>The marketing name, e.g. "NVIDIA H100 80GB HBM3".</summary>
    public string Name
    {
        get
        {
            var buffer = stackalloc byte[256];
            Cu.Check(NativeMethods.cuDeviceGetName(buffer, 256, Handle), nameof(NativeMethods.cuDeviceGetName));
            return Marshal.PtrToStringUTF8((nint)buffer) ?? "";
        }
    }

    /// <summary>Total device memory in bytes.</summary>
    public ulong TotalMemory
    {
        get
        {
            nuint bytes;
            Cu.Check(NativeMethods.cuDeviceTotalMem_v2(&bytes, Handle), nameof(NativeMethods.cuDeviceTotalMem_v2));
            return bytes;
        }
    }

    /// <summary>Compute capability, e.g. 9.0 for Hopper.</summary>
    public Version ComputeCapability =>
        new(GetAttribute(CuDeviceAttribute.ComputeCapabilityMajor), GetAttribute(CuDeviceAttribute.ComputeCapabilityMinor));

    /// <summary>Number of streaming multiprocessors (sizes persistent and grid-stride grids).</summary>
    public int MultiprocessorCount => GetAttribute(CuDeviceAttribute.MultiprocessorCount);

    /// <summary>Reads one device attribute.</summary>
    public int GetAttribute(CuDeviceAttribute attribute)
    {
        int value;
        Cu.Check(NativeMethods.cuDeviceGetAttribute(&value, attribute, Handle), nameof(NativeMethods.cuDeviceGetAttribute));
        return value;
    }

    /// <summary>Retains the device's primary context (the one the runtime API and PyTorch share) and makes it current.</summary>
    public CudaContext RetainPrimaryContext() => CudaContext.RetainPrimary(this);

    /// <summary>The device's name, ordinal and compute capability, e.g. "NVIDIA H100 (device 0, sm_90)".</summary>
    public override string ToString() => $"{Name} (device {Ordinal}, sm_{ComputeCapability.Major}{ComputeCapability.Minor})";
}
