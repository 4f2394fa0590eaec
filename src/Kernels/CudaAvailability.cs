using Mesh.Kernels.Driver;

namespace Mesh.Kernels;

/// <summary>What <see cref="CudaAvailability.Check"/> found: usable or not, and a sentence saying why.</summary>
/// <param name="IsUsable">True when the driver loads, the device exists and its compute capability is supported.</param>
/// <param name="Reason">One sentence for the log: the device found, or why CUDA cannot be used.</param>
/// <param name="DeviceName">The device's name when one was found.</param>
/// <param name="ComputeCapability">The device's compute capability when one was found.</param>
public sealed record CudaAvailabilityResult(bool IsUsable, string Reason, string? DeviceName = null, Version? ComputeCapability = null);

/// <summary>
/// Answers "can the CUDA backend run here?" for <c>--device auto|cpu|cuda</c> without ever throwing:
/// no libcuda, no device, a driver error or a device older than sm_80 each give a reason sentence
/// that the host logs (auto: fall back to CPU) or reports as its startup error (cuda).
/// </summary>
public static class CudaAvailability
{
    /// <summary>Probes the driver and the device with the given ordinal.</summary>
    public static CudaAvailabilityResult Check(int deviceOrdinal = 0)
    {
        if (!CudaDriver.TryInitialize(out var reason))
        {
            return new CudaAvailabilityResult(false, reason);
        }
        try
        {
            var count = CudaDriver.DeviceCount;
            if (deviceOrdinal < 0 || deviceOrdinal >= count)
            {
                return new CudaAvailabilityResult(false, $"CUDA device {deviceOrdinal} does not exist: the driver sees {count} device(s) (0..{count - 1})");
            }
            var device = CudaDriver.GetDevice(deviceOrdinal);
            var name = device.Name;
            var cc = device.ComputeCapability;
            if (cc < CudaDriver.MinimumComputeCapability)
            {
                return new CudaAvailabilityResult(false,
                    $"CUDA device {deviceOrdinal} ({name}) has compute capability {cc}; the Mesh kernels need {CudaDriver.MinimumComputeCapability} or newer",
                    name, cc);
            }
            return new CudaAvailabilityResult(true, $"CUDA device {deviceOrdinal}: {name}, compute capability {cc}, {device.TotalMemory / (1024 * 1024)} MiB", name, cc);
        }
        catch (CudaException e)
        {
            return new CudaAvailabilityResult(false, e.Message);
        }
    }
}
