namespace Mesh.Inference.Models;

/// <summary>Hyperparameters of a Llama-architecture transformer.</summary>
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
    public int HeadDim => Dim / Heads;

    /// <summary>Width of the key/value projections: fewer heads than queries under grouped-query attention.</summary>
    public int KvDim => KvHeads * HeadDim;

    /// <summary>Checks the invariants the forward pass relies on; <paramref name="path"/> names the file in errors.</summary>
    public void Validate(string path)
    {
        Check(Dim > 0, "dim", $"{Dim} must be positive");
        Check(HiddenDim > 0, "hidden_dim", $"{HiddenDim} must be positive");
        Check(Layers > 0, "n_layers", $"{Layers} must be positive");
        Check(Heads > 0 && Dim % Heads == 0, "n_heads", $"{Heads} must divide dim {Dim}");
        Check(HeadDim % 2 == 0, "n_heads", $"head dimension {HeadDim} must be even for RoPE");
        Check(KvHeads > 0 && Heads % KvHeads == 0, "n_kv_heads", $"{KvHeads} must divide n_heads {Heads}");
        Check(VocabSize > 0, "vocab_size", $"{VocabSize} must be positive");
        Check(ContextLength > 0, "seq_len", $"{ContextLength} must be positive");
        Check(NormEpsilon > 0 && float.IsFinite(NormEpsilon), "rms_norm_eps", $"{NormEpsilon} must be a positive number");
        Check(RopeTheta > 0 && float.IsFinite(RopeTheta), "rope_theta", $"{RopeTheta} must be a positive number");

        void Check(bool ok, string field, string message)
        {
            if (!ok)
            {
                throw new ModelFormatException(path, field, message);
            }
        }
    }
}
