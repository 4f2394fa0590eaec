using System.Runtime.InteropServices;

namespace Mesh.Kernels.Driver;

/// <summary>
/// Raw entry points of the CUDA driver API in <c>libcuda.so.1</c> (the library the NVIDIA driver
/// installs; no toolkit is needed). Versioned names (<c>_v2</c>) are the ones cuda.h maps the
/// plain names to for 64-bit sizes. Every call returns a <see cref="CuResult"/> that callers pass to
/// <see cref="Cu.Check"/>; nothing here is used outside the Driver folder.
/// </summary>
internal static unsafe partial class NativeMethods
{
    internal const string Library = "libcuda.so.1";

    [LibraryImport(Library)] internal static partial CuResult cuInit(uint flags);
    [LibraryImport(Library)] internal static partial CuResult cuDriverGetVersion(int* version);
    [LibraryImport(Library)] internal static partial CuResult cuGetErrorName(CuResult error, byte** name);
    [LibraryImport(Library)] internal static partial CuResult cuGetErrorString(CuResult error, byte** text);

    [LibraryImport(Library)] internal static partial CuResult cuDeviceGetCount(int* count);
    [LibraryImport(Library)] internal static partial CuResult cuDeviceGet(int* device, int ordinal);
    [LibraryImport(Library)] internal static partial CuResult cuDeviceGetName(byte* name, int length, int device);
    [LibraryImport(Library)] internal static partial CuResult cuDeviceGetAttribute(int* value, CuDeviceAttribute attribute, int device);
    [LibraryImport(Library)] internal static partial CuResult cuDeviceTotalMem_v2(nuint* bytes, int device);

    [LibraryImport(Library)] internal static partial CuResult cuDevicePrimaryCtxRetain(nint* context, int device);
    [LibraryImport(Library)] internal static partial CuResult cuDevicePrimaryCtxRelease_v2(int device);
    [LibraryImport(Library)] internal static partial CuResult cuCtxSetCurrent(nint context);
    [LibraryImport(Library)] internal static partial CuResult cuCtxSynchronize();
    [LibraryImport(Library)] internal static partial CuResult cuMemGetInfo_v2(nuint* free, nuint* total);

    [LibraryImport(Library)] internal static partial CuResult cuModuleLoadDataEx(nint* module, byte* image, uint optionCount, int* options, void** optionValues);
    [LibraryImport(Library)] internal static partial CuResult cuModuleUnload(nint module);
    [LibraryImport(Library)] internal static partial CuResult cuModuleGetFunction(nint* function, nint module, byte* name);
    [LibraryImport(Library)] internal static partial CuResult cuFuncSetAttribute(nint function, int attribute, int value);
    [LibraryImport(Library)] internal static partial CuResult cuFuncGetAttribute(int* value, int attribute, nint function);

    [LibraryImport(Library)] internal static partial CuResult cuMemAlloc_v2(ulong* pointer, nuint bytes);
    [LibraryImport(Library)] internal static partial CuResult cuMemFree_v2(ulong pointer);
    [LibraryImport(Library)] internal static partial CuResult cuMemcpyHtoD_v2(ulong destination, void* source, nuint bytes);
    [LibraryImport(Library)] internal static partial CuResult cuMemcpyDtoH_v2(void* destination, ulong source, nuint bytes);
    [LibraryImport(Library)] internal static partial CuResult cuMemcpyDtoD_v2(ulong destination, ulong source, nuint bytes);
    [LibraryImport(Library)] internal static partial CuResult cuMemcpyHtoDAsync_v2(ulong destination, void* source, nuint bytes, nint stream);
    [LibraryImport(Library)] internal static partial CuResult cuMemcpyDtoHAsync_v2(void* destination, ulong source, nuint bytes, nint stream);
    [LibraryImport(Library)] internal static partial CuResult cuMemcpyDtoDAsync_v2(ulong destination, ulong source, nuint bytes, nint stream);
    [LibraryImport(Library)] internal static partial CuResult cuMemsetD8_v2(ulong destination, byte value, nuint count);
    [LibraryImport(Library)] internal static partial CuResult cuMemsetD32_v2(ulong destination, uint value, nuint count);
    [LibraryImport(Library)] internal static partial CuResult cuMemsetD32Async(ulong destination, uint value, nuint count, nint stream);

    [LibraryImport(Library)] internal static partial CuResult cuStreamCreate(nint* stream, uint flags);
    [LibraryImport(Library)] internal static partial CuResult cuStreamDestroy_v2(nint stream);
    [LibraryImport(Library)] internal static partial CuResult cuStreamSynchronize(nint stream);

    [LibraryImport(Library)] internal static partial CuResult cuEventCreate(nint* evt, uint flags);
    [LibraryImport(Library)] internal static partial CuResult cuEventDestroy_v2(nint evt);
    [LibraryImport(Library)] internal static partial CuResult cuEventRecord(nint evt, nint stream);
    [LibraryImport(Library)] internal static partial CuResult cuEventSynchronize(nint evt);
    [LibraryImport(Library)] internal static partial CuResult cuEventElapsedTime(float* milliseconds, nint start, nint end);

    [LibraryImport(Library)]
    internal static partial CuResult cuLaunchKernel(
        nint function, uint gridX, uint gridY, uint gridZ, uint blockX, uint blockY, uint blockZ,
        uint sharedMemoryBytes, nint stream, void** parameters, void** extra);

    [LibraryImport(Library)]
    internal static partial CuResult cuTensorMapEncodeTiled(
        void* tensorMap, int dataType, uint rank, ulong globalAddress, ulong* globalDim, ulong* globalStrides,
        uint* boxDim, uint* elementStrides, int interleave, int swizzle, int l2Promotion, int oobFill);

    [LibraryImport(Library)] internal static partial CuResult cuStreamBeginCapture_v2(nint stream, int mode);
    [LibraryImport(Library)] internal static partial CuResult cuStreamEndCapture(nint stream, nint* graph);
    [LibraryImport(Library)] internal static partial CuResult cuGraphInstantiateWithFlags(nint* executable, nint graph, ulong flags);
    [LibraryImport(Library)] internal static partial CuResult cuGraphLaunch(nint executable, nint stream);
    [LibraryImport(Library)] internal static partial CuResult cuGraphExecDestroy(nint executable);
    [LibraryImport(Library)] internal static partial CuResult cuGraphDestroy(nint graph);
}
