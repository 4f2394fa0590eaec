using Mesh.Inference.Backends.Cpu;
using Mesh.Inference.Models;
using Mesh.Inference.Backends.Cuda;
using Mesh.Kernels;
using Microsoft.Extensions.Logging;

namespace Mesh.Inference.Backends;

/// <summary>Chooses and creates the backend for <c>--device auto|cpu|cuda</c>.</summary>
public static class BackendFactory
{
    /// <summary>
    /// The backend for <paramref name="device"/>: <c>cpu</c>; <c>cuda</c> (throws
    /// <see cref="InvalidOperationException"/> naming the reason when the weights hold a type the CUDA kernels
    /// cannot read or no usable GPU is present); <c>auto</c>, which takes CUDA when the GPU, the weight types
    /// and the model's features (<see cref="Cuda.CudaBackendFactory.UnsupportedFeature"/>) allow and the CPU
    /// otherwise, logging why. Any other name is an <see cref="ArgumentException"/>.
    /// </summary>
    /// <param name="model">The loaded model; its weight types and features decide what CUDA can run.</param>
    /// <param name="device"><c>auto</c>, <c>cpu</c> or <c>cuda</c>, any case.</param>
    /// <param name="options">Threads, KV cache size and weight memory.</param>
    /// <param name="logger">Where the choice and its reason are logged.</param>
    /// <param name="cudaProbe">The GPU probe, when the caller has already taken it (the host asks before it
    /// reads the model, to choose where the weights live); null probes here.</param>
    public static IInferenceBackend Create(LlamaModel model, string device, BackendOptions options, ILogger logger, Func<CudaAvailabilityResult>? cudaProbe = null)
    {
        cudaProbe ??= () => CudaAvailability.Check();
        switch (device.ToLowerInvariant())
        {
            case "cpu":
                return CreateCpu(model, options, logger, "requested with --device cpu");
            case "cuda":
                var unreadable = CudaMatrix.UnreadableTypes(model.Weights);
                if (unreadable is not null)
                {
                    throw new InvalidOperationException($"--device cuda: the CUDA backend cannot read {unreadable} weights (it reads F32, F16, BF16 and Q8_0). Use --device cpu or --device auto.");
                }

                var cuda = cudaProbe();
                if (!cuda.IsUsable)
                {
                    throw new InvalidOperationException($"--device cuda: CUDA is not usable on this machine: {cuda.Reason} Use --device cpu or --device auto.");
                }

                return CreateCuda(model, options, logger, cuda);
            case "auto":
                // The quantized types beyond Q8_0 have CPU kernels only: such a model stays on the CPU.
                var cpuOnly = CudaMatrix.UnreadableTypes(model.Weights);
                if (cpuOnly is not null)
                {
                    return CreateCpu(model, options, logger, $"the CUDA backend cannot read {cpuOnly} weights");
                }

                var probe = cudaProbe();
                if (!probe.IsUsable)
                {
                    return CreateCpu(model, options, logger, $"no usable GPU: {probe.Reason}");
                }

                return CudaBackendFactory.UnsupportedFeature(model.Config, model.Weights) is { } feature
                    ? CreateCpu(model, options, logger, $"the CUDA backend does not support {feature} yet")
                    : CreateCuda(model, options, logger, probe);
            default:
                throw new ArgumentException($"unknown device '{device}': use auto, cpu or cuda", nameof(device));
        }
    }

    private static CpuBackend CreateCpu(LlamaModel model, BackendOptions options, ILogger logger, string why)
    {
        var backend = new CpuBackend(model.Config, model.Weights, options);
        logger.LogInformation(
            "Model {Model} runs on the CPU backend ({Reason}): {Threads} threads, {Blocks} KV blocks of {BlockSize} tokens",
            model.Id, why, backend.Threads, backend.KvGeometry.BlockCount, backend.KvGeometry.BlockSize);
        return backend;
    }

    private static CudaBackend CreateCuda(LlamaModel model, BackendOptions options, ILogger logger, CudaAvailabilityResult device)
    {
        var backend = CudaBackendFactory.Create(model, options, logger);
        logger.LogInformation("Model {Model} runs on the CUDA backend: {Device}", model.Id, device.Reason);
        return backend;
    }
}
