using System.Runtime.InteropServices;

namespace Mesh.Kernels.Driver;

/// <summary>A CUDA event, used to time device work between two points of a stream.</summary>
public sealed unsafe class CudaEvent : SafeHandle
{
    private CudaEvent() : base(0, ownsHandle: true) { }

    public override bool IsInvalid => handle == 0;

    public static CudaEvent Create()
    {
        nint raw;
        Cu.Check(NativeMethods.cuEventCreate(&raw, 0), nameof(NativeMethods.cuEventCreate));
        var e = new CudaEvent();
        e.SetHandle(raw);
        return e;
    }

    public void Record(CudaStream? stream = null) =>
        Cu.Check(NativeMethods.cuEventRecord(handle, stream?.Handle ?? 0), nameof(NativeMethods.cuEventRecord));

    public void Synchronize() => Cu.Check(NativeMethods.cuEventSynchronize(handle), nameof(NativeMethods.cuEventSynchronize));

    /// <summary>Milliseconds of device time between <paramref name="start"/> and <paramref name="end"/> (both recorded and complete).</summary>
    public static float ElapsedMilliseconds(CudaEvent start, CudaEvent end)
    {
        float ms;
        Cu.Check(NativeMethods.cuEventElapsedTime(&ms, start.handle, end.handle), nameof(NativeMethods.cuEventElapsedTime));
        return ms;
    }

    protected override bool ReleaseHandle() => NativeMethods.cuEventDestroy_v2(handle) == CuResult.Success;
}
