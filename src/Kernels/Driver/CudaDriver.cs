using System.Runtime.InteropServices;

namespace Mesh.Kernels.Driver;

/// <summary>
/// Entry to the CUDA driver: loads <c>libcuda.so.1</c>, initialises it once per process and
/// enumerates devices. <see cref="TryInitialize"/> never throws, so a host can ask "is CUDA usable
/// here?" on a machine with no driver or no GPU and get a sentence back instead of a crash.
/// </summary>
public static unsafe class CudaDriver
{
    /// <summary>The oldest compute capability the embedded kernels target (sm_80: mma.sync m16n8k16 bf16, cp.async).</summary>
    public static readonly Version MinimumComputeCapability = new(8, 0);

    private static readonly Lock InitLock = new();
    private static string? _failure;
    private static bool _initialized;

    /// <summary>
    /// Loads and initialises the driver. Returns false, with <paramref name="reason"/> saying why in
    /// one sentence, when the library is absent, <c>cuInit</c> fails, or no device is present.
    /// </summary>
    public static bool TryInitialize(out string reason)
    {
        lock (InitLock)
        {
            if (!_initialized && _failure is null)
            {
                _failure = InitializeCore();
                _initialized = _failure is null;
            }
            reason = _failure ?? "the CUDA driver is initialised";
            return _initialized;
        }
    }

    /// <summary>Like <see cref="TryInitialize"/> but throws a <see cref="CudaException"/> carrying the reason.</summary>
    public static void Initialize()
    {
        if (!TryInitialize(out var reason))
        {
            throw new CudaException(reason);
        }
    }

    /// <summary>The driver's CUDA version as (major, minor), e.g. 12.4 for 12040.</summary>
    public static Version DriverVersion
    {
        get
        {
            Initialize();
            int v;
            Cu.Check(NativeMethods.cuDriverGetVersion(&v), nameof(NativeMethods.cuDriverGetVersion));
            return new Version(v / 1000, v % 1000 / 10);
        }
    }

    /// <summary>Number of CUDA devices the driver sees.</summary>
    public static int DeviceCount
    {
        get
        {
            Initialize();
            int count;
            Cu.Check(NativeMethods.cuDeviceGetCount(&count), nameof(NativeMethods.cuDeviceGetCount));
            return count;
        }
    }

    /// <summary>The device with the given ordinal (0-based).</summary>
    public static CudaDevice GetDevice(int ordinal)
    {
        Initialize();
        int device;
        Cu.Check(NativeMethods.cuDeviceGet(&device, ordinal), nameof(NativeMethods.cuDeviceGet));
        return new CudaDevice(device, ordinal);
    }

    private static string? InitializeCore()
    {
        // Probe the library first: a missing driver is the common case on CPU-only machines and
        // deserves a plainer sentence than a DllNotFoundException's.
        if (!NativeLibrary.TryLoad(NativeMethods.Library, typeof(CudaDriver).Assembly, null, out var handle))
        {
            return $"{NativeMethods.Library} was not found: no NVIDIA driver is installed on this machine";
        }
        NativeLibrary.Free(handle);
        try
        {
            var result = NativeMethods.cuInit(0);
            if (result != CuResult.Success)
            {
                return Cu.Error(result, nameof(NativeMethods.cuInit)).Message;
            }
            int count;
            result = NativeMethods.cuDeviceGetCount(&count);
            if (result != CuResult.Success)
            {
                return Cu.Error(result, nameof(NativeMethods.cuDeviceGetCount)).Message;
            }
            return count == 0 ? "the NVIDIA driver is installed but reports no CUDA device" : null;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException or BadImageFormatException)
        {
            return $"{NativeMethods.Library} could not be used: {e.Message}";
        }
    }
}
