namespace Mesh.Kernels.Driver;

/// <summary>
/// The CUDA driver API's status codes (<c>CUresult</c> in cuda.h). Only the codes this project
/// reacts to or names in messages are listed; any other value still round-trips as a number and is
/// named by <c>cuGetErrorName</c> when the driver is loaded.
/// </summary>
public enum CuResult
{
    /// <summary>CUDA_SUCCESS: the call succeeded.</summary>
    Success = 0,
    /// <summary>CUDA_ERROR_INVALID_VALUE: an argument was out of range.</summary>
    InvalidValue = 1,
    /// <summary>CUDA_ERROR_OUT_OF_MEMORY: a device allocation failed.</summary>
    OutOfMemory = 2,
    /// <summary>CUDA_ERROR_NOT_INITIALIZED: cuInit has not run.</summary>
    NotInitialized = 3,
    /// <summary>CUDA_ERROR_DEINITIALIZED: the driver is shutting down.</summary>
    Deinitialized = 4,
    /// <summary>CUDA_ERROR_NO_DEVICE: no CUDA device is visible.</summary>
    NoDevice = 100,
    /// <summary>CUDA_ERROR_INVALID_DEVICE: the ordinal names no device.</summary>
    InvalidDevice = 101,
    /// <summary>CUDA_ERROR_INVALID_IMAGE: the module image is not valid.</summary>
    InvalidImage = 200,
    /// <summary>CUDA_ERROR_INVALID_CONTEXT: no context is current, or it was destroyed.</summary>
    InvalidContext = 201,
    /// <summary>CUDA_ERROR_NO_BINARY_FOR_GPU: the module has no code for this architecture.</summary>
    NoBinaryForGpu = 209,
    /// <summary>CUDA_ERROR_UNSUPPORTED_PTX_VERSION: the driver is older than the PTX ISA the module needs.</summary>
    UnsupportedPtxVersion = 222,
    /// <summary>CUDA_ERROR_INVALID_PTX: the PTX JIT rejected the module (see the JIT log).</summary>
    InvalidPtx = 218,
    /// <summary>CUDA_ERROR_INVALID_SOURCE: the module source is malformed.</summary>
    InvalidSource = 300,
    /// <summary>CUDA_ERROR_INVALID_HANDLE: a handle was destroyed or never valid.</summary>
    InvalidHandle = 400,
    /// <summary>CUDA_ERROR_NOT_FOUND: a named function or symbol is not in the module.</summary>
    NotFound = 500,
    /// <summary>CUDA_ERROR_NOT_READY: queued work has not completed yet (not a failure).</summary>
    NotReady = 600,
    /// <summary>CUDA_ERROR_ILLEGAL_ADDRESS: a kernel accessed invalid memory; the context is unusable.</summary>
    IllegalAddress = 700,
    /// <summary>CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES: the launch asked for more registers or shared memory than an SM has.</summary>
    LaunchOutOfResources = 701,
    /// <summary>CUDA_ERROR_LAUNCH_TIMEOUT: a kernel ran past the watchdog limit.</summary>
    LaunchTimeout = 702,
    /// <summary>CUDA_ERROR_LAUNCH_FAILED: a kernel faulted.</summary>
    LaunchFailed = 719,
    /// <summary>CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED: the call is not allowed while a stream is being captured.</summary>
    StreamCaptureUnsupported = 900,
    /// <summary>CUDA_ERROR_STREAM_CAPTURE_INVALIDATED: the capture was broken by an earlier error.</summary>
    StreamCaptureInvalidated = 901,
    /// <summary>CUDA_ERROR_UNKNOWN, also what Mesh reports when the failing call is not known.</summary>
    Unknown = 999,
}
