namespace Mesh.Inference.Backends;

/// <summary>
/// A backend that can finish a step on its device: the forward pass, then each logit row's mask
/// and penalties (logits_process_f32) and the draw (sample_f32, the CPU sampler's Philox stream),
/// so that only one token id per row comes back instead of a row of vocabulary-size floats. The
/// <see cref="Engine.ModelRunner"/> uses it when <see cref="SamplesOnDevice"/> is set and every
/// sampled row can be described by a <see cref="DeviceSamplingBatch"/> (no logprobs asked for, every
/// logits processor able to give a mask); otherwise it calls <see cref="IInferenceBackend.Forward"/>
/// and samples on the host.
/// </summary>
public interface IDeviceSamplingBackend : IInferenceBackend
{
    /// <summary>Whether this backend instance is configured to sample on its device.</summary>
    bool SamplesOnDevice { get; }

    /// <summary>
    /// Runs <paramref name="batch"/> like <see cref="IInferenceBackend.Forward"/>, then processes and
    /// samples its logit rows on the device with <paramref name="sampling"/>'s row
    /// <c>r</c> for logit row <c>r</c>; writes one token id per row into <paramref name="tokens"/>.
    /// </summary>
    void ForwardAndSample(ForwardBatch batch, DeviceSamplingBatch sampling, Span<int> tokens);
}
