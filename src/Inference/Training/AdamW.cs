namespace Mesh.Inference.Training;

/// <summary>
/// AdamW (Loshchilov and Hutter 2019, "Decoupled Weight Decay Regularization"; PyTorch's
/// <c>torch.optim.AdamW</c>): m = β₁m + (1−β₁)g, v = β₂v + (1−β₂)g², p −= lr·(m̂ / (√v̂ + ε) + λ·p)
/// with bias-corrected m̂, v̂. One moment pair per parameter array, created on first use.
/// </summary>
internal sealed class AdamW(float learningRate, float weightDecay, float beta1 = 0.9f, float beta2 = 0.999f, float epsilon = 1e-8f)
{
    private readonly Dictionary<float[], (float[] M, float[] V)> _moments = new(ReferenceEqualityComparer.Instance);

    /// <summary>Steps taken.</summary>
    public int Step { get; private set; }

    /// <summary>Starts a step (advances the bias correction); call once before the <see cref="Update"/>s of a step.</summary>
    public void BeginStep() => Step++;

    /// <summary>Updates <paramref name="parameters"/> from <paramref name="gradient"/> scaled by <paramref name="gradientScale"/> (for clipping).</summary>
    public void Update(float[] parameters, float[] gradient, float gradientScale)
    {
        if (!_moments.TryGetValue(parameters, out var moments))
        {
            moments = (new float[parameters.Length], new float[parameters.Length]);
            _moments[parameters] = moments;
        }

        var (m, v) = moments;
        var correction1 = 1 - MathF.Pow(beta1, Step);
        var correction2 = 1 - MathF.Pow(beta2, Step);
        for (var i = 0; i < parameters.Length; i++)
        {
            var g = gradient[i] * gradientScale;
            m[i] = (beta1 * m[i]) + ((1 - beta1) * g);
            v[i] = (beta2 * v[i]) + ((1 - beta2) * g * g);
            var mHat = m[i] / correction1;
            var vHat = v[i] / correction2;
            parameters[i] -= learningRate * ((mHat / (MathF.Sqrt(vHat) + epsilon)) + (weightDecay * parameters[i]));
        }
    }
}
