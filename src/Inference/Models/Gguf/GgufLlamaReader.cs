namespace Mesh.Inference.Models.Gguf;

/// <summary>
/// Maps a GGUF file of a Llama-family architecture (<see cref="LlamaArchitectures.Supported"/>) onto
/// <see cref="LlamaConfig"/> and <see cref="LlamaWeights"/> with llama.cpp's metadata keys
/// (<c>{general.architecture}.*</c>) and tensor names. Matrices stay in the file mapping in their
/// stored type; the small vectors (norms, biases) are converted to f32. A tensor the forward pass
/// would not use is an error, as in llama.cpp, so nothing in a file is silently ignored.
/// </summary>
public static class GgufLlamaReader
{
    /// <summary>
    /// The config and weights of <paramref name="gguf"/>; the matrices point into its mapping, which must
    /// outlive them. A missing key or tensor, a shape that disagrees with the hyperparameters, an unused
    /// tensor or an unsupported architecture is a <see cref="ModelFormatException"/> naming it.
    /// </summary>
    public static (LlamaConfig Config, LlamaWeights Weights) Read(GgufFile gguf)
    {
        var arch = gguf.GetString("general.architecture");
        if (!LlamaArchitectures.Supported.Contains(arch))
        {
            throw LlamaArchitectures.Unsupported(gguf.Path, "general.architecture", arch, LlamaArchitectures.Supported);
        }

        var config = ReadConfig(gguf, arch);
        var used = new HashSet<string>();
        var dim = config.Dim;

        WeightMatrix Matrix(string name, int rows, int cols)
        {
            var t = gguf.GetTensor(name);
            if (t.Dimensions.Length != 2 || t.Dimensions[0] != cols || t.Dimensions[1] != rows)
            {
                throw gguf.Error(name, $"shape [{string.Join(", ", t.Dimensions)}] does not match the expected [{cols}, {rows}]");
            }

            used.Add(name);
            return new WeightMatrix(name, t.Type, rows, cols, gguf.GetTensorData(t));
        }

        float[]? OptionalVector(string name, int length) =>
            gguf.Tensors.ContainsKey(name) ? Vector(name, length) : null;

        float[] Vector(string name, int length)
        {
            var t = gguf.GetTensor(name);
            if (t.ElementCount != length)
            {
                throw gguf.Error(name, $"has {t.ElementCount} elements, {length} expected");
            }

            used.Add(name);
            var result = new float[length];
            Dequantize.Row(new WeightMatrix(name, t.Type, 1, length, gguf.GetTensorData(t)), 0, result);
            return result;
        }

        var layers = new LayerWeights[config.Layers];
        for (var l = 0; l < config.Layers; l++)
        {
            layers[l] = LayerTensorNames.Gguf.Read(l, config, Matrix, Vector, OptionalVector);
            RequireArchitectureTensors(gguf, arch, l, layers[l]);
        }

        var tokenEmbedding = Matrix("token_embd.weight", config.VocabSize, dim);
        // Tied embeddings: without output.weight the classifier is the embedding (llama.cpp does the same).
        var classifier = gguf.Tensors.ContainsKey("output.weight")
            ? Matrix("output.weight", config.VocabSize, dim)
            : tokenEmbedding;
        var outputNorm = Vector("output_norm.weight", dim);
        if (gguf.Tensors.ContainsKey("rope_freqs.weight"))
        {
            used.Add("rope_freqs.weight");
        }

        var unused = gguf.Tensors.Keys.Where(name => !used.Contains(name)).Order(StringComparer.Ordinal).ToList();
        if (unused.Count > 0)
        {
            throw gguf.Error(unused[0], $"tensor is not part of the '{arch}' architecture as Mesh runs it ({unused.Count} such tensor(s): {string.Join(", ", unused.Take(5))})");
        }

        return (config, new LlamaWeights(tokenEmbedding, layers, outputNorm, classifier));
    }

    private static LlamaConfig ReadConfig(GgufFile gguf, string arch)
    {
        var dim = (int)gguf.GetUInt32($"{arch}.embedding_length");
        var heads = (int)gguf.GetUInt32($"{arch}.attention.head_count");
        var vocab = gguf.Contains("tokenizer.ggml.tokens")
            ? gguf.GetStringArray("tokenizer.ggml.tokens").Count
            : (int)gguf.GetTensor("token_embd.weight").Dimensions[^1];
        var headDim = 0;
        if (gguf.TryGetUInt32($"{arch}.attention.key_length", out var keyLength))
        {
            headDim = (int)keyLength;
            if (gguf.TryGetUInt32($"{arch}.attention.value_length", out var valueLength) && valueLength != keyLength)
            {
                throw gguf.Error($"{arch}.attention.value_length", $"{valueLength} differs from attention.key_length {keyLength}; Mesh needs equal key and value head sizes");
            }
        }

        var config = new LlamaConfig(
            Dim: dim,
            HiddenDim: (int)gguf.GetUInt32($"{arch}.feed_forward_length"),
            Layers: (int)gguf.GetUInt32($"{arch}.block_count"),
            Heads: heads,
            KvHeads: gguf.TryGetUInt32($"{arch}.attention.head_count_kv", out var kv) ? (int)kv : heads,
            VocabSize: vocab,
            ContextLength: (int)gguf.GetUInt32($"{arch}.context_length"),
            NormEpsilon: gguf.TryGetFloat32($"{arch}.attention.layer_norm_rms_epsilon", out var eps) ? eps : 1e-5f,
            RopeTheta: gguf.TryGetFloat32($"{arch}.rope.freq_base", out var theta) ? theta : 10000f)
        {
            Architecture = arch,
            HeadDim = headDim,
            RopeStyle = LlamaArchitectures.GgufRopeStyle(arch),
        };
        config.Validate(gguf.Path);
        if (gguf.TryGetUInt32($"{arch}.rope.dimension_count", out var ropeDims) && ropeDims != config.HeadDim)
        {
            throw gguf.Error($"{arch}.rope.dimension_count", $"partial RoPE ({ropeDims} of {config.HeadDim} dimensions) is not supported");
        }

        config = config with { RopeFrequencyFactors = ReadFrequencyFactors(gguf, arch, config.HeadDim) };
        config.Validate(gguf.Path);
        return config;
    }

    /// <summary>
    /// llama.cpp's RoPE frequency divisors: the <c>rope_freqs.weight</c> tensor (Llama 3.1 scaling),
    /// times the factor of linear scaling. Other scaling types are refused by name.
    /// </summary>
    private static float[]? ReadFrequencyFactors(GgufFile gguf, string arch, int headDim)
    {
        float[]? factors = null;
        if (gguf.Tensors.TryGetValue("rope_freqs.weight", out var t))
        {
            if (t.ElementCount != headDim / 2)
            {
                throw gguf.Error("rope_freqs.weight", $"has {t.ElementCount} elements, head_dim/2 = {headDim / 2} expected");
            }

            factors = new float[headDim / 2];
            Dequantize.Row(new WeightMatrix("rope_freqs.weight", t.Type, 1, factors.Length, gguf.GetTensorData(t)), 0, factors);
        }

        var type = gguf.Contains($"{arch}.rope.scaling.type") ? gguf.GetString($"{arch}.rope.scaling.type") : "none";
        switch (type)
        {
            case "none":
                return factors;
            case "linear":
                var linear = gguf.TryGetFloat32($"{arch}.rope.scaling.factor", out var f) ? f : 1f;
                if (!(linear > 0 && float.IsFinite(linear)))
                {
                    throw gguf.Error($"{arch}.rope.scaling.factor", $"{linear} must be a positive number");
                }

                return (factors ?? Enumerable.Repeat(1f, headDim / 2).ToArray()).Select(x => x * linear).ToArray();
            case "llama3" when factors is not null:
                return factors;
            default:
                throw gguf.Error($"{arch}.rope.scaling.type", $"RoPE scaling '{type}' is not supported (supported: none, linear, and Llama 3 scaling through rope_freqs.weight)");
        }
    }

    private static void RequireArchitectureTensors(GgufFile gguf, string arch, int layer, LayerWeights weights)
    {
        var p = $"blk.{layer}.";
        if (arch == "qwen2" && (weights.QueryBias is null || weights.KeyBias is null || weights.ValueBias is null))
        {
            throw gguf.Error(p + "attn_q.bias", "qwen2 needs Q, K and V biases (attn_q.bias, attn_k.bias, attn_v.bias)");
        }

        if (arch == "qwen3" && (weights.QueryNorm is null || weights.KeyNorm is null))
        {
            throw gguf.Error(p + "attn_q_norm.weight", "qwen3 needs the per-head Q and K norms (attn_q_norm.weight, attn_k_norm.weight)");
        }
    }
}
