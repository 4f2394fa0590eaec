using Mesh.Inference.Models;
using Mesh.Inference.Models.Lora;

namespace Mesh.Inference.Training;

/// <summary>One block's frozen weights in f32, row-major [out, in] as <see cref="LayerWeights"/>.</summary>
internal sealed record FrozenLayer(
    float[] AttentionNorm, float[] Query, float[] Key, float[] Value, float[] Output,
    float[] FeedForwardNorm, float[] Gate, float[] Up, float[] Down,
    float[]? QueryBias = null, float[]? KeyBias = null, float[]? ValueBias = null, float[]? OutputBias = null)
{
    /// <summary>The base weight of <paramref name="target"/>.</summary>
    public float[] Matrix(LoraTarget target) => target switch
    {
        LoraTarget.Query => Query,
        LoraTarget.Key => Key,
        LoraTarget.Value => Value,
        LoraTarget.Output => Output,
        LoraTarget.Gate => Gate,
        LoraTarget.Up => Up,
        _ => Down,
    };
}

/// <summary>
/// The base model as training reads it: every weight dequantized once to f32 (the backward pass
/// multiplies by Wᵀ, which the quantized serving kernels do not provide), never changed. Memory is
/// 4 bytes per parameter (2.6 MB for TinyStories-656K, 4 GiB for a 1B model).
/// </summary>
internal sealed class FrozenLlama
{
    public FrozenLlama(LlamaConfig config, float[] embedding, FrozenLayer[] layers, float[] outputNorm, float[] classifier)
    {
        (Config, Embedding, Layers, OutputNorm, Classifier) = (config, embedding, layers, outputNorm, classifier);
    }

    public LlamaConfig Config { get; }

    /// <summary>[vocab, dim].</summary>
    public float[] Embedding { get; }

    public FrozenLayer[] Layers { get; }

    public float[] OutputNorm { get; }

    /// <summary>[vocab, dim]; the same array as <see cref="Embedding"/> when tied.</summary>
    public float[] Classifier { get; }

    /// <summary>Bytes of the f32 copy.</summary>
    public long Bytes =>
        4L * (Embedding.Length + (ReferenceEquals(Classifier, Embedding) ? 0 : Classifier.Length) + OutputNorm.Length
              + Layers.Sum(l => (long)l.Query.Length + l.Key.Length + l.Value.Length + l.Output.Length + l.Gate.Length + l.Up.Length + l.Down.Length + (2 * l.AttentionNorm.Length)));

    /// <summary>Dequantizes <paramref name="model"/>'s weights.</summary>
    /// <exception cref="NotSupportedException">The model has per-head Q/K norms (qwen3), which the backward pass does not cover.</exception>
    public static FrozenLlama From(LlamaModel model)
    {
        var w = model.Weights;
        if (w.Layers.Any(l => l.QueryNorm is not null || l.KeyNorm is not null))
        {
            throw new NotSupportedException($"model '{model.Id}' has per-head Q/K norms (qwen3); tuning covers llama, mistral and qwen2 blocks");
        }

        var layers = w.Layers.Select(l => new FrozenLayer(
            l.AttentionNorm, Read(l.Query), Read(l.Key), Read(l.Value), Read(l.Output),
            l.FeedForwardNorm, Read(l.Gate), Read(l.Up), Read(l.Down),
            l.QueryBias, l.KeyBias, l.ValueBias, l.OutputBias)).ToArray();
        var embedding = Read(w.TokenEmbedding);
        var classifier = ReferenceEquals(w.Classifier, w.TokenEmbedding) ? embedding : Read(w.Classifier);
        return new FrozenLlama(model.Config, embedding, layers, w.OutputNorm, classifier);
    }

    private static float[] Read(WeightMatrix matrix)
    {
        var values = new float[(long)matrix.Rows * matrix.Cols];
        for (var r = 0; r < matrix.Rows; r++)
        {
            Dequantize.Row(matrix, r, values.AsSpan(r * matrix.Cols, matrix.Cols));
        }

        return values;
    }
}
