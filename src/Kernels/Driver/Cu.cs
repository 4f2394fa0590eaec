using System.Runtime.InteropServices;

namespace Mesh.Kernels.Driver;

/// <summary>Turns driver status codes into <see cref="CudaException"/>s that name the call and the error.</summary>
internal static unsafe class Cu
{
    /// <summary>Throws when <paramref name="result"/> is not success; <paramref name="call"/> names the entry point.</summary>
    public static void Check(CuResult result, string call)
    {
        if (result != CuResult.Success)
        {
            throw Error(result, call);
        }
    }

    public static CudaException Error(CuResult result, string call, string? jitLog = null)
    {
        var (name, description) = Describe(result);
        return new CudaException(call, result, name, description, jitLog);
    }

    /// <summary>The driver's own name and description of a code; nulls when the driver cannot say.</summary>
    public static (string? Name, string? Description) Describe(CuResult result)
    {
        try
        {
            byte* name = null, text = null;
            var n = NativeMethods.cuGetErrorName(result, &name) == CuResult.Success ? Marshal.PtrToStringUTF8((nint)name) : null;
            var d = NativeMethods.cuGetErrorString(result, &text) == CuResult.Success ? Marshal.PtrToStringUTF8((nint)text) : null;
            return (n, d);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return (null, null);
        }
    }
}
