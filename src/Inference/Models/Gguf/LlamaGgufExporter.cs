using Mesh.Inference.Tokenization;

namespace Mesh.Inference.Models.Gguf;

/// <summary>
/// Writes a Llama model as a GGUF file of the <c>llama</c> architecture, with llama.cpp's metadata
/// keys and tensor names, the matrices converted to a chosen type. Used to make the F16/BF16/Q8_0
/// variants of a model, and the synthetic benchmark models.
/// </summary>
public static class LlamaGgufExporter
{
    /// <summary>Writes <paramref name="weights"/> of <paramref name="config"/> to <paramref name="path"/>.</summary>
    /// <param name="path">The file to create (replaced if present).</param>
    /// <param name="config">Hyperparameters, written as <c>llama.*</c> keys.</param>
    /// <param name="weights">The weights; each matrix is read as f32 and stored as <paramref name="matrixType"/>.</param>
    /// <param name="vocabulary">The SentencePiece vocabulary, written as <c>tokenizer.ggml.*</c>.</param>
    /// <param name="matrixType">F32, F16, BF16 or Q8_0 (the types <see cref="GgufWriter"/> writes).</param>
    /// <param name="name"><c>general.name</c>.</param>
    /// <exception cref="ArgumentException">The model is not a plain <c>llama</c> one (NeoX RoPE, RoPE factors, biases or Q/K norms would be lost).</exception>
    /// <param name="extraMetadata">Adds keys the header lacks (a chat template, end-of-turn ids).</param>
    public static void Write(string path, LlamaConfig config, LlamaWeights weights, SentencePieceVocabulary vocabulary, GgmlType matrixType, string name = "mesh", Action<GgufWriter>? extraMetadata = null)
    {
        if (config.Architecture != "llama" || config.RopeStyle != RopeStyle.Adjacent || config.RopeFrequencyFactors is not null
            || config.QueryDim != config.Dim || weights.Layers.Any(l => l.OptionalVectors.Any()))
        {
            throw new ArgumentException("only plain llama models (adjacent-pair RoPE, no factors, biases or Q/K norms) can be exported", nameof(config));
        }

        var w = Header(config, vocabulary, name);
        extraMetadata?.Invoke(w);

        void Matrix(string tensor, WeightMatrix m) => w.AddTensor(tensor, m.Rows, m.Cols, matrixType, () => ToFloats(m));
        void Vector(string tensor, float[] v) => w.AddTensor(tensor, 1, v.Length, GgmlType.F32, () => v);

        Matrix("token_embd.weight", weights.TokenEmbedding);
        for (var l = 0; l < config.Layers; l++)
        {
            var layer = weights.Layers[l];
            var p = $"blk.{l}.";
            Vector(p + "attn_norm.weight", layer.AttentionNorm);
            Matrix(p + "attn_q.weight", layer.Query);
            Matrix(p + "attn_k.weight", layer.Key);
            Matrix(p + "attn_v.weight", layer.Value);
            Matrix(p + "attn_output.weight", layer.Output);
            Vector(p + "ffn_norm.weight", layer.FeedForwardNorm);
            Matrix(p + "ffn_gate.weight", layer.Gate);
            Matrix(p + "ffn_down.weight", layer.Down);
            Matrix(p + "ffn_up.weight", layer.Up);
        }

        Vector("output_norm.weight", weights.OutputNorm);
        if (!ReferenceEquals(weights.Classifier, weights.TokenEmbedding))
        {
            Matrix("output.weight", weights.Classifier);
        }

        w.Write(path);
    }

    /// <summary>A writer holding the <c>llama</c> architecture's hyperparameters and tokenizer, as llama.cpp's converter writes them.</summary>
    public static GgufWriter Header(LlamaConfig config, SentencePieceVocabulary vocabulary, string name) =>
        new GgufWriter()
            .Add("general.architecture", "llama")
            .Add("general.name", name)
            .Add("llama.context_length", (uint)config.ContextLength)
            .Add("llama.embedding_length", (uint)config.Dim)
            .Add("llama.block_count", (uint)config.Layers)
            .Add("llama.feed_forward_length", (uint)config.HiddenDim)
            .Add("llama.rope.dimension_count", (uint)config.HeadDim)
            .Add("llama.attention.head_count", (uint)config.Heads)
            .Add("llama.attention.head_count_kv", (uint)config.KvHeads)
            .Add("llama.attention.layer_norm_rms_epsilon", config.NormEpsilon)
            .Add("llama.rope.freq_base", config.RopeTheta)
            .Add("tokenizer.ggml.model", "llama")
            .Add("tokenizer.ggml.tokens", vocabulary.Pieces)
            .Add("tokenizer.ggml.scores", vocabulary.Scores.ToArray())
            .Add("tokenizer.ggml.token_type", vocabulary.Kinds.Select(k => (int)k).ToArray())
            .Add("tokenizer.ggml.bos_token_id", (uint)vocabulary.BosId)
            .Add("tokenizer.ggml.eos_token_id", (uint)vocabulary.EosId)
            .Add("tokenizer.ggml.unknown_token_id", (uint)vocabulary.UnkId)
            .Add("tokenizer.ggml.add_bos_token", vocabulary.AddBos);

    private static float[] ToFloats(WeightMatrix m)
    {
        var result = new float[(long)m.Rows * m.Cols];
        for (var r = 0; r < m.Rows; r++)
        {
            Dequantize.Row(m, r, result.AsSpan(r * m.Cols, m.Cols));
        }

        return result;
    }
}
