using System.Text.Json;

namespace Mesh.Inference.Models.HuggingFace;

/// <summary>
/// Reads a Hugging Face <c>config.json</c> of a Llama-family model (<c>architectures</c> in
/// <see cref="LlamaArchitectures.HuggingFace"/>) into a <see cref="LlamaConfig"/>, with the field
/// names and defaults of transformers' LlamaConfig/MistralConfig/Qwen2Config/Qwen3Config. Hugging
/// Face stores Q/K rows in NeoX order for every architecture, so the result always uses
/// <see cref="RopeStyle.Neox"/> (llama.cpp's converter permutes Llama's rows instead; same result).
/// </summary>
public static class HuggingFaceConfig
{
    /// <summary>The parsed config and the facts the weight reader needs.</summary>
    /// <param name="Config">Hyperparameters.</param>
    /// <param name="TiedEmbeddings">tie_word_embeddings: the classifier is the embedding.</param>
    /// <param name="BosId">bos_token_id, or null.</param>
    /// <param name="EosId">eos_token_id (the first when a list), or null.</param>
    public sealed record Result(LlamaConfig Config, bool TiedEmbeddings, int? BosId, int? EosId);

    /// <summary>Reads <paramref name="path"/>; errors name the file and the key.</summary>
    public static Result Read(string path)
    {
        using var document = Parse(path);
        var root = document.RootElement;

        ModelFormatException Error(string key, string message) => new(path, key, message);

        var architectures = root.TryGetProperty("architectures", out var a) && a.ValueKind == JsonValueKind.Array
            ? a.EnumerateArray().Select(e => e.GetString() ?? "").ToArray()
            : throw Error("architectures", "is missing (expected e.g. [\"LlamaForCausalLM\"])");
        var hfArchitecture = architectures.FirstOrDefault(LlamaArchitectures.HuggingFace.ContainsKey)
            ?? throw LlamaArchitectures.Unsupported(path, "architectures", string.Join(", ", architectures), LlamaArchitectures.HuggingFace.Keys);
        var arch = LlamaArchitectures.HuggingFace[hfArchitecture];

        int Int(string key, int? fallback = null) =>
            root.TryGetProperty(key, out var v) && v.ValueKind != JsonValueKind.Null
                ? v.TryGetInt32(out var i) ? i : throw Error(key, $"expected an integer, found {v}")
                : fallback ?? throw Error(key, "is missing");
        float Float(string key, float fallback) =>
            root.TryGetProperty(key, out var v) && v.ValueKind != JsonValueKind.Null
                ? v.ValueKind == JsonValueKind.Number ? v.GetSingle() : throw Error(key, $"expected a number, found {v}")
                : fallback;
        bool Bool(string key, bool fallback) =>
            root.TryGetProperty(key, out var v) && v.ValueKind is JsonValueKind.True or JsonValueKind.False ? v.GetBoolean() : fallback;

        var activation = root.TryGetProperty("hidden_act", out var act) ? act.GetString() : "silu";
        if (activation != "silu")
        {
            throw Error("hidden_act", $"'{activation}' is not supported (Llama-family models use silu)");
        }

        if (Bool("mlp_bias", false))
        {
            throw Error("mlp_bias", "feed-forward biases are not supported");
        }

        var heads = Int("num_attention_heads");
        var context = Int("max_position_embeddings", 2048);
        // Sliding-window attention (Mistral 7B v0.1) equals full attention while the context fits in
        // the window, so the context is capped at the window rather than refusing the model.
        var slidingWindow = Int("sliding_window", 0);
        if (slidingWindow > 0 && slidingWindow < context && Bool("use_sliding_window", arch == "llama"))
        {
            context = slidingWindow;
        }

        var config = new LlamaConfig(
            Dim: Int("hidden_size"),
            HiddenDim: Int("intermediate_size"),
            Layers: Int("num_hidden_layers"),
            Heads: heads,
            KvHeads: Int("num_key_value_heads", heads),
            VocabSize: Int("vocab_size"),
            ContextLength: context,
            NormEpsilon: Float("rms_norm_eps", 1e-6f),
            RopeTheta: Float("rope_theta", 10000f))
        {
            Architecture = arch,
            HeadDim = Int("head_dim", 0),
            RopeStyle = RopeStyle.Neox,
        };
        config.Validate(path);
        config = config with { RopeFrequencyFactors = RopeScaling(root, config, Error) };
        config.Validate(path);

        int? FirstId(string key) => root.TryGetProperty(key, out var v) switch
        {
            true when v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out var i) => i,
            true when v.ValueKind == JsonValueKind.Array && v.GetArrayLength() > 0 && v[0].TryGetInt32(out var i) => i,
            _ => null,
        };

        return new Result(config, Bool("tie_word_embeddings", false), FirstId("bos_token_id"), FirstId("eos_token_id"));
    }

    private static float[]? RopeScaling(JsonElement root, LlamaConfig config, Func<string, string, ModelFormatException> error)
    {
        if (!root.TryGetProperty("rope_scaling", out var s) || s.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        var type = s.TryGetProperty("rope_type", out var t) || s.TryGetProperty("type", out t) ? t.GetString() : null;
        float Get(string key, float fallback) => s.TryGetProperty(key, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetSingle() : fallback;
        return type switch
        {
            "default" => null,
            "linear" => Enumerable.Repeat(Get("factor", 1f), config.HeadDim / 2).ToArray(),
            "llama3" => LlamaArchitectures.Llama3FrequencyFactors(
                config.HeadDim, config.RopeTheta, Get("factor", 8f), Get("low_freq_factor", 1f), Get("high_freq_factor", 4f), Get("original_max_position_embeddings", 8192f)),
            _ => throw error("rope_scaling", $"RoPE scaling '{type}' is not supported (supported: default, linear, llama3)"),
        };
    }

    internal static JsonDocument Parse(string path)
    {
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"file not found: {path}", path);
        }

        try
        {
            return JsonDocument.Parse(File.ReadAllBytes(path), new JsonDocumentOptions { MaxDepth = 64 });
        }
        catch (JsonException e)
        {
            throw new ModelFormatException(path, "json", $"is not valid JSON: {e.Message}");
        }
    }
}
