using System.Runtime.InteropServices;

namespace Mesh.Kernels.Driver;

/// <summary>
/// An instantiated CUDA graph: the decode step's dozens of small launches recorded once by stream
/// capture and replayed with one <c>cuGraphLaunch</c>, which removes the per-launch CPU overhead
/// that dominates small-batch decoding. Kernels read their per-step inputs (token ids, positions,
/// block tables) from device buffers whose addresses stay fixed, so one capture serves every step.
/// </summary>
public sealed unsafe class CudaGraph : SafeHandle
{
    private nint _graph;

    private CudaGraph() : base(0, ownsHandle: true) { }

    /// <inheritdoc/>
    public override bool IsInvalid => handle == 0;

    /// <summary>Ends a capture begun with <see cref="CudaStream.BeginCapture"/> and instantiates the graph.</summary>
    public static CudaGraph EndCapture(CudaStream stream)
    {
        nint graph, executable;
        Cu.Check(NativeMethods.cuStreamEndCapture(stream.Handle, &graph), nameof(NativeMethods.cuStreamEndCapture));
        var result = NativeMethods.cuGraphInstantiateWithFlags(&executable, graph, 0);
        if (result != CuResult.Success)
        {
            NativeMethods.cuGraphDestroy(graph);
            throw Cu.Error(result, nameof(NativeMethods.cuGraphInstantiateWithFlags));
        }
        var g = new CudaGraph { _graph = graph };
        g.SetHandle(executable);
        return g;
    }

    /// <summary>Replays the captured work on <paramref name="stream"/>.</summary>
    public void Launch(CudaStream stream)
    {
        ObjectDisposedException.ThrowIf(IsClosed, this);
        Cu.Check(NativeMethods.cuGraphLaunch(handle, stream.Handle), nameof(NativeMethods.cuGraphLaunch));
    }

    /// <inheritdoc/>
    protected override bool ReleaseHandle()
    {
        var ok = NativeMethods.cuGraphExecDestroy(handle) == CuResult.Success;
        return NativeMethods.cuGraphDestroy(_graph) == CuResult.Success && ok;
    }
}
