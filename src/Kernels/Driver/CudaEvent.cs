using System.Runtime.InteropServices;

namespace Mesh.Kernels.Driver;

/// <summary>A CUDA event, used to time device work between two points of a stream.</summary>
public sealed unsafe class CudaEvent : SafeHandle
{
    private CudaEvent() : base(0, ownsHandle: true) { }

    /// <inheritdoc/>
    public override bool IsInvalid => handle == 0;

    /// <summary>Creates an event with timing enabled.</summary>
    /// <exception cref="CudaException">The driver refused (no current context).</exception>
    public static CudaEvent Create()
    {
        nint raw;
        Cu.Check(NativeMethods.cuEventCreate(&raw, 0), nameof(NativeMethods.cuEventCreate));
        var e = new CudaEvent();
        e.SetHandle(raw);
        return e;
    }

    /// <summary>Records the event on <paramref name="stream"/> (the legacy default stream when null): it completes when the work queued before it does.</summary>
    public void Record(CudaStream? stream = null) =>
        Cu.Check(NativeMethods.cuEventRecord(handle, stream?.Handle ?? 0), nameof(NativeMethods.cuEventRecord));

    /// <summary>Blocks the calling thread until the recorded work has completed.</summary>
    public void Synchronize() => Cu.Check(NativeMethods.cuEventSynchronize(handle), nameof(NativeMethods.cuEventSynchronize));

    /// <summary>Milliseconds of device time between <paramref name="start"/> and <paramref name="end"/> (both recorded and complete).</summary>
    public static float ElapsedMilliseconds(CudaEvent start, CudaEvent end)
    {
        float ms;
        Cu.Check(NativeMethods.cuEventElapsedTime(&ms, start.handle, end.handle), nameof(NativeMethods.cuEventElapsedTime));
        return ms;
    }

    /// <inheritdoc/>
    protected override bool ReleaseHandle() => NativeMethods.cuEventDestroy_v2(handle) == CuResult.Success;
}
