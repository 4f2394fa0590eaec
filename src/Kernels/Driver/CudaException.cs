namespace Mesh.Kernels.Driver;

/// <summary>
/// A CUDA driver call returned an error. The message names the call and the error (for example
/// <c>cuModuleLoadDataEx failed: CUDA_ERROR_INVALID_PTX (218): ...</c>) and, for module loads,
/// carries the JIT compiler's error log, so a log line alone says what went wrong and where.
/// </summary>
public sealed class CudaException : Exception
{
    /// <summary>A failure of driver call <paramref name="call"/> with <paramref name="result"/>; <paramref name="errorName"/> and <paramref name="description"/> are the driver's (cuGetErrorName/cuGetErrorString), <paramref name="jitLog"/> the PTX JIT's error log of a module load.</summary>
    public CudaException(string call, CuResult result, string? errorName, string? description, string? jitLog = null)
        : base(Format(call, result, errorName, description, jitLog))
    {
        Call = call;
        Result = result;
        JitLog = jitLog;
    }

    /// <summary>A failure of an unknown call (<see cref="CuResult.Unknown"/>); for serializers and generic code.</summary>
    public CudaException() : this("(unknown call)", CuResult.Unknown, null, null) { }

    /// <summary>A failure described by <paramref name="message"/>, of an unknown call.</summary>
    public CudaException(string message) : base(message)
    {
        Call = "(unknown call)";
        Result = CuResult.Unknown;
    }

    /// <summary>A failure described by <paramref name="message"/>, caused by <paramref name="innerException"/>.</summary>
    public CudaException(string message, Exception innerException) : base(message, innerException)
    {
        Call = "(unknown call)";
        Result = CuResult.Unknown;
    }

    /// <summary>The driver entry point that failed, e.g. <c>cuMemAlloc_v2</c>.</summary>
    public string Call { get; }

    /// <summary>The status code the driver returned.</summary>
    public CuResult Result { get; }

    /// <summary>The JIT compiler's error log of a failed PTX load; null for other calls.</summary>
    public string? JitLog { get; }

    internal static string Format(string call, CuResult result, string? errorName, string? description, string? jitLog)
    {
        var name = errorName ?? (Enum.IsDefined(result) ? $"CUDA_ERROR_{result}" : "CUDA_ERROR");
        var text = $"{call} failed: {name} ({(int)result})";
        if (!string.IsNullOrWhiteSpace(description))
        {
            text += $": {description}";
        }
        if (!string.IsNullOrWhiteSpace(jitLog))
        {
            text += $"{Environment.NewLine}JIT log:{Environment.NewLine}{jitLog.Trim()}";
        }
        return text;
    }
}
