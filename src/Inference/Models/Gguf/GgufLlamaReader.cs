namespace Mesh.Inference.Models.Gguf;

/// <summary>
/// Maps a GGUF file of the <c>llama</c> architecture onto <see cref="LlamaConfig"/> and
/// <see cref="LlamaWeights"/>, using llama.cpp's metadata keys and tensor names. Matrices stay in
/// the file mapping in their stored type; the small norm vectors are converted to f32.
/// </summary>
public static unsafe class GgufLlamaReader
{
    public static (LlamaConfig Config, LlamaWeights Weights) Read(GgufFile gguf)
    {
        var arch = gguf.GetString("general.architecture");
        if (arch != "llama")
        {
            throw gguf.Error("general.architecture", $"architecture '{arch}' is not supported (only 'llama')");
        }

        var embedding = gguf.GetTensor("token_embd.weight");
        var dim = (int)gguf.GetUInt32("llama.embedding_length");
        var heads = (int)gguf.GetUInt32("llama.attention.head_count");
        var vocab = gguf.Contains("tokenizer.ggml.tokens")
            ? gguf.GetStringArray("tokenizer.ggml.tokens").Count
            : (int)embedding.Dimensions[^1];
        var config = new LlamaConfig(
            Dim: dim,
            HiddenDim: (int)gguf.GetUInt32("llama.feed_forward_length"),
            Layers: (int)gguf.GetUInt32("llama.block_count"),
            Heads: heads,
            KvHeads: gguf.TryGetUInt32("llama.attention.head_count_kv", out var kv) ? (int)kv : heads,
            VocabSize: vocab,
            ContextLength: (int)gguf.GetUInt32("llama.context_length"),
            NormEpsilon: gguf.TryGetFloat32("llama.attention.layer_norm_rms_epsilon", out var eps) ? eps : 1e-5f,
            RopeTheta: gguf.TryGetFloat32("llama.rope.freq_base", out var theta) ? theta : 10000f);
        config.Validate(gguf.Path);
        if (gguf.TryGetUInt32("llama.rope.dimension_count", out var ropeDims) && ropeDims != config.HeadDim)
        {
            throw gguf.Error("llama.rope.dimension_count", $"partial RoPE ({ropeDims} of {config.HeadDim} dimensions) is not supported");
        }

        WeightMatrix Matrix(string name, int rows, int cols)
        {
            var t = gguf.GetTensor(name);
            if (t.Dimensions.Length != 2 || t.Dimensions[0] != cols || t.Dimensions[1] != rows)
            {
                throw gguf.Error(name, $"shape [{string.Join(", ", t.Dimensions)}] does not match the expected [{cols}, {rows}]");
            }

            return new WeightMatrix(name, t.Type, rows, cols, gguf.GetTensorData(t));
        }

        float[] Vector(string name, int length)
        {
            var t = gguf.GetTensor(name);
            if (t.ElementCount != length)
            {
                throw gguf.Error(name, $"has {t.ElementCount} elements, {length} expected");
            }

            var result = new float[length];
            Dequantize.Row(new WeightMatrix(name, t.Type, 1, length, gguf.GetTensorData(t)), 0, result);
            return result;
        }

        var layers = new LayerWeights[config.Layers];
        for (var l = 0; l < config.Layers; l++)
        {
            var p = $"blk.{l}.";
            layers[l] = new LayerWeights(
                Vector(p + "attn_norm.weight", dim),
                Matrix(p + "attn_q.weight", dim, dim),
                Matrix(p + "attn_k.weight", config.KvDim, dim),
                Matrix(p + "attn_v.weight", config.KvDim, dim),
                Matrix(p + "attn_output.weight", dim, dim),
                Vector(p + "ffn_norm.weight", dim),
                Matrix(p + "ffn_gate.weight", config.HiddenDim, dim),
                Matrix(p + "ffn_down.weight", dim, config.HiddenDim),
                Matrix(p + "ffn_up.weight", config.HiddenDim, dim));
        }

        var tokenEmbedding = Matrix("token_embd.weight", config.VocabSize, dim);
        var classifier = gguf.Tensors.ContainsKey("output.weight")
            ? Matrix("output.weight", config.VocabSize, dim)
            : tokenEmbedding;
        return (config, new LlamaWeights(tokenEmbedding, layers, Vector("output_norm.weight", dim), classifier));
    }
}
