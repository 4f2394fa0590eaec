using System.Runtime.InteropServices;

namespace Mesh.Kernels.Driver;

/// <summary>
/// A retained primary context. Driver calls act on the calling thread's current context, so work
/// that may hop threads (async code) calls <see cref="MakeCurrent"/> first; disposing releases the
/// retain taken at creation.
/// </summary>
public sealed unsafe class CudaContext : SafeHandle
{
    private readonly int _device;

    private CudaContext(int device) : base(0, ownsHandle: true) => _device = device;

    /// <inheritdoc/>
    public override bool IsInvalid => handle == 0;

    /// <summary>The device this context belongs to.</summary>
    public required CudaDevice Device { get; init; }

    internal static CudaContext RetainPrimary(CudaDevice device)
    {
        nint raw;
        Cu.Check(NativeMethods.cuDevicePrimaryCtxRetain(&raw, device.Handle), nameof(NativeMethods.cuDevicePrimaryCtxRetain));
        var context = new CudaContext(device.Handle) { Device = device };
        context.SetHandle(raw);
        context.MakeCurrent();
        return context;
    }

    /// <summary>Binds this context to the calling thread.</summary>
    public void MakeCurrent()
    {
        ObjectDisposedException.ThrowIf(IsClosed, this);
        Cu.Check(NativeMethods.cuCtxSetCurrent(handle), nameof(NativeMethods.cuCtxSetCurrent));
    }

    /// <summary>Waits for all work in the context; surfaces asynchronous kernel faults (e.g. illegal address).</summary>
    public void Synchronize() => Cu.Check(NativeMethods.cuCtxSynchronize(), nameof(NativeMethods.cuCtxSynchronize));

    /// <summary>Free and total device memory, in bytes.</summary>
    public (ulong Free, ulong Total) MemoryInfo()
    {
        nuint free, total;
        Cu.Check(NativeMethods.cuMemGetInfo_v2(&free, &total), nameof(NativeMethods.cuMemGetInfo_v2));
        return (free, total);
    }

    /// <inheritdoc/>
    protected override bool ReleaseHandle() => NativeMethods.cuDevicePrimaryCtxRelease_v2(_device) == CuResult.Success;
}
