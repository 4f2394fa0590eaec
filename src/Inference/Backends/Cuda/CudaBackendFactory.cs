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
    /// <summary>
    /// Uploads <paramref name="model"/>'s weights to device <paramref name="deviceOrdinal"/> and allocates its KV pools.
    /// </summary>
    public static CudaBackend Create(LlamaModel model, BackendOptions options, ILogger logger, int deviceOrdinal = 0)
    {
        ArgumentNullException.ThrowIfNull(model);
        return Create(model.Id, model.Config, model.Weights, options, logger, deviceOrdinal);
    }

    /// <summary>
    /// What of the model the CUDA kernels do not implement yet (they run the plain Llama 2 block:
    /// adjacent-pair RoPE without frequency factors, head_dim = dim/heads, no biases, no Q/K norms),
    /// or null when the model runs on CUDA.
    /// </summary>
    public static string? UnsupportedFeature(LlamaConfig config, LlamaWeights weights)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(weights);
        if (config.RopeStyle != RopeStyle.Adjacent)
        {
            return $"NeoX-style RoPE ({config.Architecture})";
        }

        if (config.RopeFrequencyFactors is not null)
        {
            return "RoPE frequency factors (Llama 3.1 or linear RoPE scaling)";
        }

        if (config.QueryDim != config.Dim)
        {
            return $"head_dim {config.HeadDim} × {config.Heads} heads ≠ dim {config.Dim}";
        }

        foreach (var layer in weights.Layers)
        {
            if (layer.QueryBias is not null || layer.KeyBias is not null || layer.ValueBias is not null || layer.OutputBias is not null)
            {
                return "attention biases";
            }

            if (layer.QueryNorm is not null || layer.KeyNorm is not null)
            {
                return "per-head Q/K norms";
            }
        }

        return null;
    }

    /// <summary>Creates the backend for weights held in memory (the GPU check's random Llama-shaped model).</summary>
    /// <exception cref="InvalidOperationException">The model uses a feature the CUDA kernels lack (<see cref="UnsupportedFeature"/>).</exception>
    public static CudaBackend Create(string modelId, LlamaConfig config, LlamaWeights weights, BackendOptions options, ILogger logger, int deviceOrdinal = 0)
    {
        if (UnsupportedFeature(config, weights) is { } feature)
        {
            throw new InvalidOperationException($"model {modelId}: the CUDA backend does not support {feature} yet; use --device cpu (or auto)");
        }

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
