namespace Mesh.Inference.Models;

/// <summary>The weights of one transformer block.</summary>
public sealed record LayerWeights(
    float[] AttentionNorm,
    WeightMatrix Query,
    WeightMatrix Key,
    WeightMatrix Value,
    WeightMatrix Output,
    float[] FeedForwardNorm,
    WeightMatrix Gate,
    WeightMatrix Down,
    WeightMatrix Up);

/// <summary>All weights of a Llama model. <see cref="Classifier"/> is the token embedding when tied.</summary>
public sealed record LlamaWeights(
    WeightMatrix TokenEmbedding,
    IReadOnlyList<LayerWeights> Layers,
    float[] OutputNorm,
    WeightMatrix Classifier)
{
    public IEnumerable<WeightMatrix> Matrices =>
        Layers.SelectMany(l => new[] { l.Query, l.Key, l.Value, l.Output, l.Gate, l.Down, l.Up })
            .Append(TokenEmbedding)
            .Append(Classifier)
            .Distinct();

    public long ParameterCount =>
        Matrices.Sum(m => (long)m.Rows * m.Cols)
        + OutputNorm.Length
        + Layers.Sum(l => (long)l.AttentionNorm.Length + l.FeedForwardNorm.Length);
}
