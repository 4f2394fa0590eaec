namespace Mesh.Inference.Models;

/// <summary>
/// The tensor names of one transformer block in a file format (llama.cpp's GGUF names or Hugging Face's),
/// and the one place a block's <see cref="LayerWeights"/> are assembled from them, with the shapes the
/// forward pass needs. Each name is a stem: <c>{stem}.weight</c> and, for projections, <c>{stem}.bias</c>.
/// </summary>
internal sealed record LayerTensorNames(
    string Prefix,
    string AttentionNorm,
    string Query,
    string Key,
    string Value,
    string Output,
    string FeedForwardNorm,
    string Gate,
    string Down,
    string Up,
    string QueryNorm,
    string KeyNorm)
{
    /// <summary>llama.cpp's names: <c>blk.{layer}.attn_q.weight</c>, …</summary>
    public static readonly LayerTensorNames Gguf = new(
        "blk.{0}.", "attn_norm", "attn_q", "attn_k", "attn_v", "attn_output",
        "ffn_norm", "ffn_gate", "ffn_down", "ffn_up", "attn_q_norm", "attn_k_norm");

    /// <summary>Hugging Face transformers' names: <c>model.layers.{layer}.self_attn.q_proj.weight</c>, …</summary>
    public static readonly LayerTensorNames HuggingFace = new(
        "model.layers.{0}.", "input_layernorm", "self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj",
        "post_attention_layernorm", "mlp.gate_proj", "mlp.down_proj", "mlp.up_proj", "self_attn.q_norm", "self_attn.k_norm");

    /// <summary>The full name of <paramref name="stem"/>'s <paramref name="suffix"/> (<c>weight</c> or <c>bias</c>) in block <paramref name="layer"/>.</summary>
    public string Name(int layer, string stem, string suffix = "weight") =>
        string.Format(System.Globalization.CultureInfo.InvariantCulture, Prefix, layer) + stem + "." + suffix;

    /// <summary>
    /// Block <paramref name="layer"/>'s weights: matrices are [rows, cols] = [out, in], vectors have the
    /// given length; biases and Q/K norms are optional. The readers check names, shapes and types and
    /// throw <see cref="ModelFormatException"/>.
    /// </summary>
    public LayerWeights Read(
        int layer,
        LlamaConfig config,
        Func<string, int, int, WeightMatrix> matrix,
        Func<string, int, float[]> vector,
        Func<string, int, float[]?> optional)
    {
        int dim = config.Dim, qDim = config.QueryDim, kvDim = config.KvDim, hidden = config.HiddenDim;
        return new LayerWeights(
            vector(Name(layer, AttentionNorm), dim),
            matrix(Name(layer, Query), qDim, dim),
            matrix(Name(layer, Key), kvDim, dim),
            matrix(Name(layer, Value), kvDim, dim),
            matrix(Name(layer, Output), dim, qDim),
            vector(Name(layer, FeedForwardNorm), dim),
            matrix(Name(layer, Gate), hidden, dim),
            matrix(Name(layer, Down), dim, hidden),
            matrix(Name(layer, Up), hidden, dim))
        {
            QueryBias = optional(Name(layer, Query, "bias"), qDim),
            KeyBias = optional(Name(layer, Key, "bias"), kvDim),
            ValueBias = optional(Name(layer, Value, "bias"), kvDim),
            OutputBias = optional(Name(layer, Output, "bias"), dim),
            QueryNorm = optional(Name(layer, QueryNorm), config.HeadDim),
            KeyNorm = optional(Name(layer, KeyNorm), config.HeadDim),
        };
    }
}
