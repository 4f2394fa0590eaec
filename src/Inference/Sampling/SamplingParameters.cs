namespace Mesh.Inference.Sampling;

/// <summary>
/// How tokens are chosen, already validated (see the proto for each field's meaning). Penalties look
/// at the last <see cref="PenaltyLastN"/> tokens of the context, prompt and output alike, as
/// llama.cpp's do.
/// </summary>
public sealed record SamplingParameters
{
    /// <summary>Temperature 0: always the most likely token (after penalties), no draw.</summary>
    public static SamplingParameters Greedy { get; } = new() { Temperature = 0 };

    /// <summary>Divides the logits before the softmax; 0 is greedy. At least 0.</summary>
    public float Temperature { get; init; } = 1f;

    /// <summary>
    /// Nucleus sampling: keep the smallest set of most likely tokens whose probabilities sum to at least this; 1 turns it off. In (0, 1].
    /// </summary>
    public float TopP { get; init; } = 1f;

    /// <summary>Keep only the this many most likely tokens; 0 turns it off.</summary>
    public int TopK { get; init; }

    /// <summary>
    /// Drop tokens less likely than this fraction of the most likely one's probability; 0 turns it off. In [0, 1).
    /// </summary>
    public float MinP { get; init; }

    /// <summary>
    /// llama.cpp's (CTRL's) repetition penalty: a token seen in the window has its positive logit divided
    /// by it and its negative logit multiplied by it; 1 turns it off.
    /// </summary>
    public float RepetitionPenalty { get; init; } = 1f;

    /// <summary>
    /// OpenAI's presence penalty: subtracted once from the logit of every token seen in the window. In [-2, 2].
    /// </summary>
    public float PresencePenalty { get; init; }

    /// <summary>
    /// OpenAI's frequency penalty: subtracted from a token's logit once per occurrence in the window. In [-2, 2].
    /// </summary>
    public float FrequencyPenalty { get; init; }

    /// <summary>Window of the penalties; -1 means the whole context.</summary>
    public int PenaltyLastN { get; init; } = 64;

    /// <summary>Seed of the request's Philox stream; draw n uses counter n, so a seed reproduces its tokens.</summary>
    public ulong Seed { get; init; }

    /// <summary>Whether tokens are chosen by argmax (<see cref="Temperature"/> is 0).</summary>
    public bool IsGreedy => Temperature == 0;

    /// <summary>Whether any penalty changes the logits (so the context's token counts are needed).</summary>
    public bool HasPenalties => RepetitionPenalty != 1f || PresencePenalty != 0 || FrequencyPenalty != 0;
}
