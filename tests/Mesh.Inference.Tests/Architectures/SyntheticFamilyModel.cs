using Mesh.Inference.Models;
using Mesh.Inference.Models.Gguf;
using Mesh.Inference.Tokenization;

namespace Mesh.Inference.Tests.Architectures;

/// <summary>
/// A tiny Llama-family model with random weights, held in Hugging Face's tensor names and layout
/// (Q/K rows in NeoX order), that writes itself as a GGUF file the way llama.cpp's converter does
/// (tensor renaming; for <c>llama</c> the Q/K rows permuted into adjacent-pair order). Norm weights
/// and biases are random too, so a forward pass that skipped one would give different numbers.
/// </summary>
internal sealed class SyntheticFamilyModel
{
    private readonly Dictionary<string, (int Rows, int Cols, float[] Data)> _tensors = new(StringComparer.Ordinal);
    private ulong _state;

    public SyntheticFamilyModel(string architecture, int vocab, ulong seed, bool tied, int dim = 64, int heads = 4, int kvHeads = 2, int headDim = 0, int hidden = 96, int layers = 2,
        bool biases = false, bool qkNorm = false, float theta = 10000f, float qkScale = 1f, float blockScale = 1f, (float Factor, float Low, float High, int Original)? llama3 = null)
    {
        Architecture = architecture;
        _state = (seed * 0x9E3779B97F4A7C15UL) | 1;
        Config = new LlamaConfig(dim, hidden, layers, heads, kvHeads, vocab, ContextLength: 128, NormEpsilon: 1e-6f, RopeTheta: theta)
        {
            Architecture = architecture,
            HeadDim = headDim,
        };
        Tied = tied;
        Llama3 = llama3;
        int qDim = Config.QueryDim, kvDim = Config.KvDim, hd = Config.HeadDim;
        var inScale = 1f / MathF.Sqrt(dim);
        Add("model.embed_tokens.weight", vocab, dim, 1f, 0f);
        for (var l = 0; l < layers; l++)
        {
            var p = $"model.layers.{l}.";
            Add(p + "input_layernorm.weight", 1, dim, 0.3f, 1f);
            Add(p + "self_attn.q_proj.weight", qDim, dim, inScale * qkScale, 0f);
            Add(p + "self_attn.k_proj.weight", kvDim, dim, inScale * qkScale, 0f);
            Add(p + "self_attn.v_proj.weight", kvDim, dim, inScale, 0f);
            if (biases)
            {
                Add(p + "self_attn.q_proj.bias", 1, qDim, 0.5f, 0f);
                Add(p + "self_attn.k_proj.bias", 1, kvDim, 0.5f, 0f);
                Add(p + "self_attn.v_proj.bias", 1, kvDim, 0.5f, 0f);
            }

            if (qkNorm)
            {
                Add(p + "self_attn.q_norm.weight", 1, hd, 0.3f, 1f);
                Add(p + "self_attn.k_norm.weight", 1, hd, 0.3f, 1f);
            }

            Add(p + "self_attn.o_proj.weight", dim, qDim, blockScale / MathF.Sqrt(qDim), 0f);
            Add(p + "post_attention_layernorm.weight", 1, dim, 0.3f, 1f);
            Add(p + "mlp.gate_proj.weight", hidden, dim, inScale, 0f);
            Add(p + "mlp.up_proj.weight", hidden, dim, inScale, 0f);
            Add(p + "mlp.down_proj.weight", dim, hidden, blockScale / MathF.Sqrt(hidden), 0f);
        }

        // Tied: a final norm of mixed signs keeps e_t · norm(x) from favouring the current token's own
        // embedding, which otherwise makes greedy decoding repeat one token.
        Add("model.norm.weight", 1, dim, tied ? 4f : 0.3f, tied ? 0f : 1f);
        if (!tied)
        {
            Add("lm_head.weight", vocab, dim, 4f, 0f); // large logits: greedy margins well above rounding
        }
    }

    public string Architecture { get; }

    public LlamaConfig Config { get; }

    public bool Tied { get; }

    public (float Factor, float Low, float High, int Original)? Llama3 { get; }

    /// <summary>Every tensor by Hugging Face name: [rows, cols] (rows = 1 for vectors) and row-major data.</summary>
    public IReadOnlyDictionary<string, (int Rows, int Cols, float[] Data)> Tensors => _tensors;

    /// <summary>Writes the model as llama.cpp's converter would, with <paramref name="vocabulary"/> as its tokenizer.</summary>
    public void WriteGguf(string path, SentencePieceVocabulary vocabulary, bool withLlama3Factors = true, GgmlType matrixType = GgmlType.F32)
    {
        var c = Config;
        var a = Architecture;
        var w = new GgufWriter()
            .Add("general.architecture", a)
            .Add("general.name", $"synthetic-{a}")
            .Add($"{a}.context_length", (uint)c.ContextLength)
            .Add($"{a}.embedding_length", (uint)c.Dim)
            .Add($"{a}.block_count", (uint)c.Layers)
            .Add($"{a}.feed_forward_length", (uint)c.HiddenDim)
            .Add($"{a}.rope.dimension_count", (uint)c.HeadDim)
            .Add($"{a}.attention.head_count", (uint)c.Heads)
            .Add($"{a}.attention.head_count_kv", (uint)c.KvHeads)
            .Add($"{a}.attention.key_length", (uint)c.HeadDim)
            .Add($"{a}.attention.value_length", (uint)c.HeadDim)
            .Add($"{a}.attention.layer_norm_rms_epsilon", c.NormEpsilon)
            .Add($"{a}.rope.freq_base", c.RopeTheta)
            .Add("tokenizer.ggml.model", "llama")
            .Add("tokenizer.ggml.tokens", vocabulary.Pieces)
            .Add("tokenizer.ggml.scores", vocabulary.Scores.ToArray())
            .Add("tokenizer.ggml.token_type", vocabulary.Kinds.Select(k => (int)k).ToArray())
            .Add("tokenizer.ggml.bos_token_id", (uint)vocabulary.BosId)
            .Add("tokenizer.ggml.eos_token_id", (uint)vocabulary.EosId)
            .Add("tokenizer.ggml.unknown_token_id", (uint)vocabulary.UnkId)
            .Add("tokenizer.ggml.add_bos_token", vocabulary.AddBos);

        void Tensor(string gguf, string hf, bool permute = false)
        {
            if (!_tensors.TryGetValue(hf, out var t))
            {
                return;
            }

            var data = permute && a == "llama" ? PermuteToAdjacent(t.Data, t.Rows, t.Cols, (t.Rows == 1 ? t.Cols : t.Rows) / c.HeadDim) : t.Data;
            w.AddTensor(gguf, t.Rows, t.Cols, matrixType, () => data);
        }

        Tensor("token_embd.weight", "model.embed_tokens.weight");
        for (var l = 0; l < c.Layers; l++)
        {
            string p = $"model.layers.{l}.", g = $"blk.{l}.";
            Tensor(g + "attn_norm.weight", p + "input_layernorm.weight");
            Tensor(g + "attn_q.weight", p + "self_attn.q_proj.weight", permute: true);
            Tensor(g + "attn_k.weight", p + "self_attn.k_proj.weight", permute: true);
            Tensor(g + "attn_v.weight", p + "self_attn.v_proj.weight");
            Tensor(g + "attn_q.bias", p + "self_attn.q_proj.bias", permute: true);
            Tensor(g + "attn_k.bias", p + "self_attn.k_proj.bias", permute: true);
            Tensor(g + "attn_v.bias", p + "self_attn.v_proj.bias");
            Tensor(g + "attn_q_norm.weight", p + "self_attn.q_norm.weight");
            Tensor(g + "attn_k_norm.weight", p + "self_attn.k_norm.weight");
            Tensor(g + "attn_output.weight", p + "self_attn.o_proj.weight");
            Tensor(g + "ffn_norm.weight", p + "post_attention_layernorm.weight");
            Tensor(g + "ffn_gate.weight", p + "mlp.gate_proj.weight");
            Tensor(g + "ffn_up.weight", p + "mlp.up_proj.weight");
            Tensor(g + "ffn_down.weight", p + "mlp.down_proj.weight");
        }

        Tensor("output_norm.weight", "model.norm.weight");
        Tensor("output.weight", "lm_head.weight");
        if (Llama3 is { } s && withLlama3Factors)
        {
            // llama.cpp's converter turns rope_scaling {rope_type: llama3} into this tensor.
            var factors = LlamaArchitectures.Llama3FrequencyFactors(c.HeadDim, c.RopeTheta, s.Factor, s.Low, s.High, s.Original);
            w.AddTensor("rope_freqs.weight", 1, factors.Length, GgmlType.F32, () => factors);
        }

        w.Write(path);
    }

    /// <summary>
    /// Writes the model as a Hugging Face directory: config.json, the tensors in safetensors files
    /// of <paramref name="dtype"/> (F32, F16 or BF16) split over <paramref name="shards"/> files
    /// (with model.safetensors.index.json when more than one), and the given tokenizer files.
    /// </summary>
    public void WriteHuggingFace(string directory, string dtype, int shards, string tokenizerFolder)
    {
        Directory.CreateDirectory(directory);
        var c = Config;
        var hfArchitecture = Architecture switch { "qwen2" => "Qwen2ForCausalLM", "qwen3" => "Qwen3ForCausalLM", _ => "LlamaForCausalLM" };
        var config = new Dictionary<string, object?>
        {
            ["architectures"] = new[] { hfArchitecture },
            ["hidden_act"] = "silu",
            ["hidden_size"] = c.Dim,
            ["intermediate_size"] = c.HiddenDim,
            ["num_hidden_layers"] = c.Layers,
            ["num_attention_heads"] = c.Heads,
            ["num_key_value_heads"] = c.KvHeads,
            ["head_dim"] = c.HeadDim,
            ["max_position_embeddings"] = c.ContextLength,
            ["rms_norm_eps"] = c.NormEpsilon,
            ["rope_theta"] = c.RopeTheta,
            ["tie_word_embeddings"] = Tied,
            ["vocab_size"] = c.VocabSize,
            ["bos_token_id"] = 1,
            ["eos_token_id"] = 2,
            ["torch_dtype"] = dtype == "F32" ? "float32" : dtype == "F16" ? "float16" : "bfloat16",
            ["rope_scaling"] = Llama3 is { } s
                ? new Dictionary<string, object> { ["rope_type"] = "llama3", ["factor"] = s.Factor, ["low_freq_factor"] = s.Low, ["high_freq_factor"] = s.High, ["original_max_position_embeddings"] = s.Original }
                : null,
        };
        File.WriteAllText(Path.Combine(directory, "config.json"), System.Text.Json.JsonSerializer.Serialize(config));
        foreach (var name in new[] { "tokenizer.json", "tokenizer_config.json" })
        {
            File.Copy(Path.Combine(tokenizerFolder, name), Path.Combine(directory, name));
        }

        var type = dtype switch { "F32" => GgmlType.F32, "F16" => GgmlType.F16, "BF16" => GgmlType.BF16, _ => throw new ArgumentOutOfRangeException(nameof(dtype)) };
        var names = _tensors.Keys.Order(StringComparer.Ordinal).ToList();
        var weightMap = new Dictionary<string, string>();
        for (var shard = 0; shard < shards; shard++)
        {
            var file = shards == 1 ? "model.safetensors" : $"model-{shard + 1:D5}-of-{shards:D5}.safetensors";
            var mine = names.Where((_, i) => i % shards == shard).ToList();
            SafetensorsWriter.Write(Path.Combine(directory, file), mine.Select(n => (n, Shape(n), dtype, GgufWriter.Encode(_tensors[n].Data, type))));
            mine.ForEach(n => weightMap[n] = file);
        }

        if (shards > 1)
        {
            File.WriteAllText(Path.Combine(directory, "model.safetensors.index.json"), System.Text.Json.JsonSerializer.Serialize(new { metadata = new { }, weight_map = weightMap }));
        }

        long[] Shape(string name) => _tensors[name] is var t && t.Rows == 1 ? [t.Cols] : [t.Rows, t.Cols];
    }

    /// <summary>
    /// llama.cpp's converter's <c>permute</c>: within each head, Hugging Face row s·(head_dim/2)+j
    /// (NeoX halves) becomes row 2j+s (adjacent pairs). A vector is a matrix of one column here.
    /// </summary>
    internal static float[] PermuteToAdjacent(float[] data, int rows, int cols, int heads)
    {
        var (outRows, outCols) = rows == 1 ? (cols, 1) : (rows, cols);
        var headDim = outRows / heads;
        var half = headDim / 2;
        var result = new float[data.Length];
        for (var h = 0; h < heads; h++)
        {
            for (var s = 0; s < 2; s++)
            {
                for (var j = 0; j < half; j++)
                {
                    var from = (h * headDim) + (s * half) + j;
                    var to = (h * headDim) + (2 * j) + s;
                    Array.Copy(data, from * outCols, result, to * outCols, outCols);
                }
            }
        }

        return result;
    }

    private void Add(string name, int rows, int cols, float scale, float offset)
    {
        var data = new float[rows * cols];
        for (var i = 0; i < data.Length; i++)
        {
            // xorshift64*: deterministic and fast.
            _state ^= _state >> 12;
            _state ^= _state << 25;
            _state ^= _state >> 27;
            var bits = (_state * 0x2545F4914F6CDD1DUL) >> 40;
            data[i] = offset + (((bits / (float)(1 << 24) * 2) - 1) * scale);
        }

        _tensors[name] = (rows, cols, data);
    }
}
