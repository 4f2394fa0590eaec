using Mesh.Inference.Models;
using Mesh.Kernels;
using Mesh.Kernels.Driver;
using Microsoft.Extensions.Logging;

namespace Mesh.Inference.Backends.Cuda;

/// <summary>
/// Creates the CUDA backend for <c>--device cuda</c> (and <c>auto</c> when a GPU is usable). Use
/// <see cref="CudaAvailability.Check"/> first: it says, without throwing, why CUDA cannot be used
/// (no driver, no device, a device older than sm_80); this factory throws a
/// <see cref="CudaException"/> naming the failing call if something breaks after that.
/// </summary>
public static class CudaBackendFactory
{
    public static CudaBackend Create(LlamaModel model, BackendOptions options, ILogger logger, int deviceOrdinal = 0)
    {
        ArgumentNullException.ThrowIfNull(model);
        return Create(model.Id, model.Config, model.Weights, options, logger, deviceOrdinal);
    }

    /// <summary>Creates the backend for weights held in memory (the GPU check's random Llama-shaped model).</summary>
    public static CudaBackend Create(string modelId, LlamaConfig config, LlamaWeights weights, BackendOptions options, ILogger logger, int deviceOrdinal = 0)
    {
        var availability = CudaAvailability.Check(deviceOrdinal);
        if (!availability.IsUsable)
        {
            throw new CudaException($"CUDA is not usable: {availability.Reason}");
        }

        var device = CudaDriver.GetDevice(deviceOrdinal);
        var context = device.RetainPrimaryContext();
        try
        {
            var backend = new CudaBackend(context, config, weights, options);
            logger.LogInformation(
                "Model {Model} runs on the CUDA backend: {Device}, {WeightMiB} MiB of weights, {Blocks} KV blocks of {BlockSize} tokens",
                modelId, device.ToString(), backend.WeightBytes >> 20, backend.KvGeometry.BlockCount, backend.KvGeometry.BlockSize);
            return backend;
        }
        catch
        {
            context.Dispose();
            throw;
        }
    }
}
