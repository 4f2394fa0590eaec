namespace Mesh.Inference.Models;

/// <summary>
/// The weights of one transformer block. Matrices are [out, in]: Query [heads·head_dim, dim],
/// Key/Value [kv_heads·head_dim, dim], Output [dim, heads·head_dim]. The optional vectors are present
/// only in the architectures that have them.
/// </summary>
public sealed record LayerWeights(
    float[] AttentionNorm,
    WeightMatrix Query,
    WeightMatrix Key,
    WeightMatrix Value,
    WeightMatrix Output,
    float[] FeedForwardNorm,
    WeightMatrix Gate,
    WeightMatrix Down,
    WeightMatrix Up)
{
    /// <summary>Bias added after the query projection (qwen2's <c>attn_q.bias</c>), or null.</summary>
    public float[]? QueryBias { get; init; }

    /// <summary>Bias added after the key projection, or null.</summary>
    public float[]? KeyBias { get; init; }

    /// <summary>Bias added after the value projection, or null.</summary>
    public float[]? ValueBias { get; init; }

    /// <summary>Bias added after the attention output projection, or null.</summary>
    public float[]? OutputBias { get; init; }

    /// <summary>RMSNorm weight [head_dim] applied to each query head before RoPE (qwen3's <c>attn_q_norm</c>), or null.</summary>
    public float[]? QueryNorm { get; init; }

    /// <summary>RMSNorm weight [head_dim] applied to each key head before RoPE (qwen3's <c>attn_k_norm</c>), or null.</summary>
    public float[]? KeyNorm { get; init; }

    /// <summary>Every optional vector that is present.</summary>
    public IEnumerable<float[]> OptionalVectors =>
        new[] { QueryBias, KeyBias, ValueBias, OutputBias, QueryNorm, KeyNorm }.OfType<float[]>();
}

/// <summary>All weights of a Llama model. <see cref="Classifier"/> is the token embedding when tied.</summary>
public sealed record LlamaWeights(
    WeightMatrix TokenEmbedding,
    IReadOnlyList<LayerWeights> Layers,
    float[] OutputNorm,
    WeightMatrix Classifier)
{
    /// <summary>
    /// Every distinct matrix: each layer's Q, K, V, O, gate, down, up, then the embedding and the classifier (once when tied).
    /// </summary>
    public IEnumerable<WeightMatrix> Matrices =>
        Layers.SelectMany(l => new[] { l.Query, l.Key, l.Value, l.Output, l.Gate, l.Down, l.Up })
            .Append(TokenEmbedding)
            .Append(Classifier)
            .Distinct();

    /// <summary>Parameters (elements) of every matrix and vector, a tied classifier counted once.</summary>
    public long ParameterCount =>
        Matrices.Sum(m => (long)m.Rows * m.Cols)
        + OutputNorm.Length
        + Layers.Sum(l => (long)l.AttentionNorm.Length + l.FeedForwardNorm.Length + l.OptionalVectors.Sum(v => (long)v.Length));
}
