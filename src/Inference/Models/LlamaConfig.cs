namespace Mesh.Inference.Models;

/// <summary>
/// How rotary position embedding pairs the dimensions of a head, as llama.cpp's two RoPE modes.
/// </summary>
public enum RopeStyle
{
    /// <summary>Adjacent pairs (v[2j], v[2j+1]): llama2.c and llama.cpp's <c>llama</c> architecture (its converter permutes Hugging Face's Q/K rows into this layout).</summary>
    Adjacent,

    /// <summary>Halves (v[j], v[j + head_dim/2]): GPT-NeoX, Hugging Face's <c>rotate_half</c>, llama.cpp's <c>qwen2</c>/<c>qwen3</c>.</summary>
    Neox,
}

/// <summary>
/// Hyperparameters of a Llama-family transformer (llama, mistral, qwen2, qwen3). Dimensions are in
/// elements. The optional properties default to the plain Llama 2 model: head dimension dim/heads,
/// adjacent-pair RoPE without frequency factors.
/// </summary>
public sealed record LlamaConfig(
    int Dim,
    int HiddenDim,
    int Layers,
    int Heads,
    int KvHeads,
    int VocabSize,
    int ContextLength,
    float NormEpsilon,
    float RopeTheta)
{
    private readonly int _headDim;

    /// <summary>The architecture name in llama.cpp's terms (<c>general.architecture</c>): llama, qwen2 or qwen3.</summary>
    public string Architecture { get; init; } = "llama";

    /// <summary>Elements per attention head; dim/heads unless the model sets it (qwen3's <c>attention.key_length</c>, Hugging Face's <c>head_dim</c>).</summary>
    public int HeadDim
    {
        get => _headDim > 0 ? _headDim : Dim / Heads;
        init => _headDim = value;
    }

    /// <summary>Width of the query projection and of the attention output: heads × head_dim (equal to dim unless head_dim is set).</summary>
    public int QueryDim => Heads * HeadDim;

    /// <summary>Width of the key/value projections: fewer heads than queries under grouped-query attention.</summary>
    public int KvDim => KvHeads * HeadDim;

    /// <summary>The RoPE pairing of the weights as stored.</summary>
    public RopeStyle RopeStyle { get; init; } = RopeStyle.Adjacent;

    /// <summary>
    /// Per rotated pair (head_dim/2 values), the divisor of the rotation frequency, or null for none:
    /// Llama 3.1's <c>rope_scaling</c> of type <c>llama3</c>, which llama.cpp's converter writes as the
    /// <c>rope_freqs.weight</c> tensor and applies as θ_j / factor_j.
    /// </summary>
    public float[]? RopeFrequencyFactors { get; init; }

    /// <summary>Checks the invariants the forward pass relies on; <paramref name="path"/> names the file in errors.</summary>
    public void Validate(string path)
    {
        Check(Dim > 0, "dim", $"{Dim} must be positive");
        Check(HiddenDim > 0, "hidden_dim", $"{HiddenDim} must be positive");
        Check(Layers > 0, "n_layers", $"{Layers} must be positive");
        Check(Heads > 0 && (_headDim > 0 || Dim % Heads == 0), "n_heads", $"{Heads} must divide dim {Dim}");
        Check(_headDim >= 0 && (long)Heads * HeadDim <= int.MaxValue / 4, "head_dim", $"{HeadDim} is out of range");
        Check(HeadDim % 2 == 0, "head_dim", $"head dimension {HeadDim} must be even for RoPE");
        Check(KvHeads > 0 && Heads % KvHeads == 0, "n_kv_heads", $"{KvHeads} must divide n_heads {Heads}");
        Check(VocabSize > 0, "vocab_size", $"{VocabSize} must be positive");
        Check(ContextLength > 0, "seq_len", $"{ContextLength} must be positive");
        Check(NormEpsilon > 0 && float.IsFinite(NormEpsilon), "rms_norm_eps", $"{NormEpsilon} must be a positive number");
        Check(RopeTheta > 0 && float.IsFinite(RopeTheta), "rope_theta", $"{RopeTheta} must be a positive number");
        if (RopeFrequencyFactors is { } factors)
        {
            Check(factors.Length == HeadDim / 2, "rope_freqs", $"has {factors.Length} values, head_dim/2 = {HeadDim / 2} expected");
            Check(factors.All(f => f > 0 && float.IsFinite(f)), "rope_freqs", "every factor must be a positive number");
        }

        void Check(bool ok, string field, string message)
        {
            if (!ok)
            {
                throw new ModelFormatException(path, field, message);
            }
        }
    }
}
