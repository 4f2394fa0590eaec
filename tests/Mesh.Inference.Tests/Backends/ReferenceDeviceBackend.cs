using Mesh.Inference.Backends;
using Mesh.Inference.Models;
using Mesh.Kernels.Reference;
using Mesh.Kernels.Sampling;

namespace Mesh.Inference.Tests.Backends;

/// <summary>
/// A test double of a device that samples: the forward pass on a real (CPU) backend, then what
/// logits_process_f32 and sample_f32 do, run as their CPU references on the
/// <see cref="DeviceSamplingBatch"/> the engine built, and only the token ids handed back. What
/// the CUDA backend does with the same batch, minus the GPU.
/// </summary>
internal sealed class ReferenceDeviceBackend(IInferenceBackend inner) : IDeviceSamplingBackend
{
    public string Name => "reference-device";

    public LlamaConfig Config => inner.Config;

    public KvCacheGeometry KvGeometry => inner.KvGeometry;

    public bool SamplesOnDevice => true;

    /// <summary>Steps that finished "on the device".</summary>
    public int DeviceSteps { get; private set; }

    /// <summary>Steps that copied logits back instead.</summary>
    public int HostSteps { get; private set; }

    public void Forward(ForwardBatch batch, Span<float> logits)
    {
        HostSteps++;
        inner.Forward(batch, logits);
    }

    public void ForwardAndSample(ForwardBatch batch, DeviceSamplingBatch sampling, Span<int> tokens)
    {
        DeviceSteps++;
        var vocab = Config.VocabSize;
        Assert.Equal(batch.LogitCount, sampling.Count);
        var logits = new float[batch.LogitCount * vocab]; // "device memory": never seen by the engine
        inner.Forward(batch, logits);
        for (var r = 0; r < sampling.Count; r++)
        {
            var row = logits.AsSpan(r * vocab, vocab);
            LogitsProcessingReference.Apply(row, sampling.Mask(r), sampling.PenaltyTokensOf(r), sampling.PenaltyCountsOf(r), sampling.Penalties[r]);
            tokens[r] = SamplingReference.Sample(row, sampling.Rows[r]);
        }
    }

    public void Dispose() => inner.Dispose();
}
