namespace Mesh.Kernels.Driver;

/// <summary>
/// The CUDA driver API's status codes (<c>CUresult</c> in cuda.h). Only the codes this project
/// reacts to or names in messages are listed; any other value still round-trips as a number and is
/// named by <c>cuGetErrorName</c> when the driver is loaded.
/// </summary>
public enum CuResult
{
    Success = 0,
    InvalidValue = 1,
    OutOfMemory = 2,
    NotInitialized = 3,
    Deinitialized = 4,
    NoDevice = 100,
    InvalidDevice = 101,
    InvalidImage = 200,
    InvalidContext = 201,
    NoBinaryForGpu = 209,
    UnsupportedPtxVersion = 222,
    InvalidPtx = 218,
    InvalidSource = 300,
    InvalidHandle = 400,
    NotFound = 500,
    NotReady = 600,
    IllegalAddress = 700,
    LaunchOutOfResources = 701,
    LaunchTimeout = 702,
    LaunchFailed = 719,
    StreamCaptureUnsupported = 900,
    StreamCaptureInvalidated = 901,
    Unknown = 999,
}
