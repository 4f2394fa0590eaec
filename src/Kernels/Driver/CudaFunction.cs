using Mesh.Kernels.Launch;

namespace Mesh.Kernels.Driver;

/// <summary>A kernel entry point of a loaded module; launches it with a geometry and arguments.</summary>
public sealed unsafe class CudaFunction
{
    private const int MaxDynamicSharedSizeBytes = 8, NumRegisters = 4;
    private readonly nint _handle;
    private readonly CudaModule _module; // keeps the module alive as long as its functions

    internal CudaFunction(nint handle, string name, CudaModule module)
    {
        _handle = handle;
        _module = module;
        Name = name;
    }

    /// <summary>The kernel's <c>.entry</c> name.</summary>
    public string Name { get; }

    /// <summary>Registers per thread the JIT allotted.</summary>
    public int Registers
    {
        get
        {
            int value;
            Cu.Check(NativeMethods.cuFuncGetAttribute(&value, NumRegisters, _handle), nameof(NativeMethods.cuFuncGetAttribute));
            return value;
        }
    }

    /// <summary>Raises the dynamic shared memory a launch may ask for (needed above 48 KiB).</summary>
    public void SetMaxDynamicSharedMemory(int bytes) =>
        Cu.Check(NativeMethods.cuFuncSetAttribute(_handle, MaxDynamicSharedSizeBytes, bytes), nameof(NativeMethods.cuFuncSetAttribute));

    /// <summary>Enqueues the kernel on <paramref name="stream"/> (null: the legacy default stream).</summary>
    public void Launch(LaunchGeometry geometry, KernelArguments arguments, CudaStream? stream = null)
    {
        ObjectDisposedException.ThrowIf(_module.IsClosed, _module);
        var result = NativeMethods.cuLaunchKernel(
            _handle, geometry.GridX, geometry.GridY, geometry.GridZ, geometry.BlockX, geometry.BlockY, geometry.BlockZ,
            geometry.SharedMemoryBytes, stream?.Handle ?? 0, arguments.Pointers, null);
        if (result != CuResult.Success)
        {
            throw Cu.Error(result, $"cuLaunchKernel({Name}, {geometry})");
        }
    }
}
