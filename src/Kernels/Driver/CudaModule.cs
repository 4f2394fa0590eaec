using System.Runtime.InteropServices;
using System.Text;

namespace Mesh.Kernels.Driver;

/// <summary>
/// A module JIT-compiled by the driver from PTX text. The driver's info and error logs are captured
/// through <c>cuModuleLoadDataEx</c>'s JIT options: a failed load throws a <see cref="CudaException"/>
/// whose message carries the error log (line numbers and the offending instruction), and a
/// successful load keeps the info log in <see cref="JitInfoLog"/> (registers per kernel).
/// </summary>
public sealed unsafe class CudaModule : SafeHandle
{
    private const int LogBytes = 16 * 1024;
    private const int JitInfoLogBuffer = 3, JitInfoLogBufferSize = 4, JitErrorLogBuffer = 5, JitErrorLogBufferSize = 6, JitLogVerbose = 12;

    private CudaModule() : base(0, ownsHandle: true) { }

    /// <inheritdoc/>
    public override bool IsInvalid => handle == 0;

    /// <summary>What the JIT compiler reported while loading (empty when it had nothing to say).</summary>
    public string JitInfoLog { get; private set; } = "";

    /// <summary>Compiles and loads PTX text for the current context's device.</summary>
    public static CudaModule LoadPtx(string ptx)
    {
        ArgumentException.ThrowIfNullOrEmpty(ptx);
        var image = Encoding.UTF8.GetBytes(ptx + "\0");
        var info = new byte[LogBytes];
        var error = new byte[LogBytes];
        nint raw;
        CuResult result;
        fixed (byte* imagePtr = image, infoPtr = info, errorPtr = error)
        {
            var options = stackalloc int[] { JitInfoLogBuffer, JitInfoLogBufferSize, JitErrorLogBuffer, JitErrorLogBufferSize, JitLogVerbose };
            var values = stackalloc void*[] { infoPtr, (void*)LogBytes, errorPtr, (void*)LogBytes, (void*)1 };
            result = NativeMethods.cuModuleLoadDataEx(&raw, imagePtr, 5, options, values);
        }
        if (result != CuResult.Success)
        {
            throw Cu.Error(result, nameof(NativeMethods.cuModuleLoadDataEx), ReadLog(error));
        }
        var module = new CudaModule { JitInfoLog = ReadLog(info) };
        module.SetHandle(raw);
        return module;
    }

    /// <summary>Looks up a kernel entry point by its <c>.entry</c> name.</summary>
    public CudaFunction GetFunction(string name)
    {
        ObjectDisposedException.ThrowIf(IsClosed, this);
        var bytes = Encoding.UTF8.GetBytes(name + "\0");
        nint function;
        fixed (byte* p = bytes)
        {
            var result = NativeMethods.cuModuleGetFunction(&function, handle, p);
            if (result != CuResult.Success)
            {
                throw Cu.Error(result, $"{nameof(NativeMethods.cuModuleGetFunction)}(\"{name}\")");
            }
        }
        return new CudaFunction(function, name, this);
    }

    private static string ReadLog(byte[] buffer)
    {
        var end = Array.IndexOf(buffer, (byte)0);
        return Encoding.UTF8.GetString(buffer, 0, end < 0 ? buffer.Length : end).Trim();
    }

    /// <inheritdoc/>
    protected override bool ReleaseHandle() => NativeMethods.cuModuleUnload(handle) == CuResult.Success;
}
