using Mesh.Inference.Backends.Cpu;
using Mesh.Inference.Models;
using Mesh.Kernels.Driver;
using Microsoft.Extensions.Logging;

namespace Mesh.Inference.Backends;

/// <summary>Chooses and creates the backend for <c>--device auto|cpu|cuda</c>.</summary>
public static class BackendFactory
{
    public static IInferenceBackend Create(LlamaModel model, string device, BackendOptions options, ILogger logger)
    {
        switch (device.ToLowerInvariant())
        {
            case "cpu":
                return CreateCpu(model, options, logger, "requested with --device cpu");
            case "cuda":
                if (!CudaDriver.TryInitialize(out var reason))
                {
                    throw new InvalidOperationException($"--device cuda: CUDA is not usable on this machine: {reason} Use --device cpu or --device auto.");
                }

                return CreateCuda(model, options, logger);
            case "auto":
                return CudaDriver.TryInitialize(out var why)
                    ? CreateCuda(model, options, logger)
                    : CreateCpu(model, options, logger, $"no usable GPU: {why}");
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

    private static IInferenceBackend CreateCuda(LlamaModel model, BackendOptions options, ILogger logger)
    {
        _ = model;
        _ = options;
        _ = logger;
        throw new NotSupportedException("the CUDA backend is not part of this build yet; use --device cpu");
    }
}
