namespace Mesh.Inference.Sampling;

/// <summary>
/// How tokens are chosen, already validated (see the proto for each field's meaning). Penalties look
/// at the last <see cref="PenaltyLastN"/> tokens of the context, prompt and output alike, as
/// llama.cpp's do.
/// </summary>
public sealed record SamplingParameters
{
    public static SamplingParameters Greedy { get; } = new() { Temperature = 0 };

    public float Temperature { get; init; } = 1f;

    public float TopP { get; init; } = 1f;

    public int TopK { get; init; }

    public float MinP { get; init; }

    public float RepetitionPenalty { get; init; } = 1f;

    public float PresencePenalty { get; init; }

    public float FrequencyPenalty { get; init; }

    /// <summary>Window of the penalties; -1 means the whole context.</summary>
    public int PenaltyLastN { get; init; } = 64;

    public ulong Seed { get; init; }

    public bool IsGreedy => Temperature == 0;

    public bool HasPenalties => RepetitionPenalty != 1f || PresencePenalty != 0 || FrequencyPenalty != 0;
}
