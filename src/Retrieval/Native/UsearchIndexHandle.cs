using System.Runtime.InteropServices;

namespace Mesh.Retrieval.Native;

/// <summary>
/// Owns a native <c>usearch_index_t</c>. As a SafeHandle it cannot be freed while a P/Invoke call is using
/// it (the runtime reference-counts the handle around each call) and it is freed even if its owner is
/// never disposed.
/// </summary>
internal sealed class UsearchIndexHandle : SafeHandle
{
    public UsearchIndexHandle()
        : base(IntPtr.Zero, ownsHandle: true)
    {
    }

    public override bool IsInvalid => handle == IntPtr.Zero;

    public static UsearchIndexHandle Create(ref UsearchNative.InitOptions options)
    {
        var pointer = UsearchNative.Init(ref options, out var error);
        if (pointer == IntPtr.Zero || error != 0)
        {
            if (pointer != IntPtr.Zero)
            {
                UsearchNative.Free(pointer, out _);
            }
            UsearchNative.ThrowIfError(error, "init");
            throw new UsearchException("usearch init returned no index.");
        }
        var result = new UsearchIndexHandle();
        result.SetHandle(pointer);
        return result;
    }

    protected override bool ReleaseHandle()
    {
        UsearchNative.Free(handle, out var error);
        return error == 0;
    }
}
