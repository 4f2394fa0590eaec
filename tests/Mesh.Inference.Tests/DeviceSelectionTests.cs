using Mesh.Inference.Backends;
using Mesh.Inference.Models;
using Mesh.Inference.Tests.Tokenization;
using Mesh.Kernels;
using Microsoft.Extensions.Logging.Abstractions;

namespace Mesh.Inference.Tests;

/// <summary>--device auto|cpu|cuda on a machine without a GPU (CI's, and every developer's here).</summary>
public sealed class DeviceSelectionTests
{
    [Fact]
    public void AutoFallsBackToTheCpuAndCudaFailsWithAClearMessageWhenNoGpuIsPresent()
    {
        var cuda = CudaAvailability.Check();
        if (cuda.IsUsable)
        {
            return; // a GPU machine: nothing to fall back from
        }

        using var model = LlamaModel.Load(TestModels.Stories260KGguf);
        using (var auto = BackendFactory.Create(model, "auto", new BackendOptions { KvBlockCount = 64 }, NullLogger.Instance))
        {
            Assert.Equal("cpu", auto.Name);
        }

        var e = Assert.Throws<InvalidOperationException>(() => BackendFactory.Create(model, "cuda", new BackendOptions(), NullLogger.Instance));
        Assert.Contains("--device cuda", e.Message, StringComparison.Ordinal);
        Assert.Contains(cuda.Reason, e.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => BackendFactory.Create(model, "tpu", new BackendOptions(), NullLogger.Instance));
    }
}
