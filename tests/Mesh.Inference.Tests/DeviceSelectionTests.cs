using Mesh.Inference.Backends;
using Mesh.Inference.Models;
using Mesh.Inference.Tests.Tokenization;
using Mesh.Kernels;
using Microsoft.Extensions.Logging.Abstractions;

namespace Mesh.Inference.Tests;

/// <summary>
/// --device auto|cpu|cuda when no GPU is usable. The probe is given, so the choice is tested on every
/// machine, GPU or not; the real probe's answers are <c>CudaAvailabilityTests</c>' (Mesh.Kernels.Tests).
/// </summary>
public sealed class DeviceSelectionTests
{
    private static readonly CudaAvailabilityResult NoGpu = new(false, "no CUDA device in this test.");

    [Fact]
    public void AutoFallsBackToTheCpuAndCudaFailsWithTheProbesReason()
    {
        using var model = LlamaModel.Load(TestModels.Stories260KGguf);
        var probes = 0;
        CudaAvailabilityResult Probe()
        {
            probes++;
            return NoGpu;
        }

        using (var auto = BackendFactory.Create(model, "auto", new BackendOptions { KvBlockCount = 64 }, NullLogger.Instance, Probe))
        {
            Assert.Equal("cpu", auto.Name);
        }

        Assert.Equal(1, probes); // the given probe is the one asked, once

        var e = Assert.Throws<InvalidOperationException>(() => BackendFactory.Create(model, "CUDA", new BackendOptions(), NullLogger.Instance, Probe));
        Assert.Contains("--device cuda", e.Message, StringComparison.Ordinal);
        Assert.Contains(NoGpu.Reason, e.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => BackendFactory.Create(model, "tpu", new BackendOptions(), NullLogger.Instance, Probe));

        using var cpu = BackendFactory.Create(model, "cpu", new BackendOptions { KvBlockCount = 64 }, NullLogger.Instance, Probe);
        Assert.Equal("cpu", cpu.Name);
        Assert.Equal(2, probes); // --device cpu never probes
    }
}
