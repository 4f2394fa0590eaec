using Mesh.Kernels.Driver;

namespace Mesh.Kernels.Tests.Driver;

public class CudaAvailabilityTests
{
    [NoCudaDriverFact]
    public void Without_a_driver_the_probe_says_so_instead_of_throwing()
    {
        var result = CudaAvailability.Check();

        Assert.False(result.IsUsable);
        Assert.Contains("libcuda.so.1 was not found", result.Reason, StringComparison.Ordinal);
        Assert.False(CudaDriver.TryInitialize(out var reason));
        Assert.Equal(result.Reason, reason);
    }

    [NoCudaDriverFact]
    public void Without_a_driver_driver_calls_throw_a_CudaException_with_the_reason()
    {
        var e = Assert.Throws<CudaException>(() => CudaDriver.GetDevice(0));
        Assert.Contains("no NVIDIA driver", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Probing_a_device_ordinal_that_does_not_exist_is_not_usable()
    {
        var result = CudaAvailability.Check(deviceOrdinal: 1000);

        Assert.False(result.IsUsable);
        Assert.False(string.IsNullOrWhiteSpace(result.Reason));
    }
}
