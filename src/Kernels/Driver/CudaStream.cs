using System.Runtime.InteropServices;

namespace Mesh.Kernels.Driver;

/// <summary>A CUDA stream (an in-order queue of device work), created non-blocking.</summary>
public sealed unsafe class CudaStream : SafeHandle
{
    private const uint NonBlocking = 1;

    private CudaStream() : base(0, ownsHandle: true) { }

    /// <inheritdoc/>
    public override bool IsInvalid => handle == 0;

    internal nint Handle
    {
        get
        {
            ObjectDisposedException.ThrowIf(IsClosed, this);
            return handle;
        }
    }

    /// <summary>Creates a non-blocking stream (no implicit synchronisation with the legacy default stream).</summary>
    /// <exception cref="CudaException">The driver refused (no current context, out of resources).</exception>
    public static CudaStream Create()
    {
        nint raw;
        Cu.Check(NativeMethods.cuStreamCreate(&raw, NonBlocking), nameof(NativeMethods.cuStreamCreate));
        var stream = new CudaStream();
        stream.SetHandle(raw);
        return stream;
    }

    /// <summary>Blocks until all work queued on the stream has finished; throws on an earlier asynchronous fault.</summary>
    public void Synchronize() => Cu.Check(NativeMethods.cuStreamSynchronize(Handle), nameof(NativeMethods.cuStreamSynchronize));

    /// <summary>
    /// Records every launch queued on this stream until <see cref="CudaGraph.EndCapture"/> into a
    /// graph instead of running it (global capture mode: other threads' unsafe calls are refused).
    /// </summary>
    public void BeginCapture() => Cu.Check(NativeMethods.cuStreamBeginCapture_v2(Handle, 0), nameof(NativeMethods.cuStreamBeginCapture_v2));

    /// <inheritdoc/>
    protected override bool ReleaseHandle() => NativeMethods.cuStreamDestroy_v2(handle) == CuResult.Success;
}
