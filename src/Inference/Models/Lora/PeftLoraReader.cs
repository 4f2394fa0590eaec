using System.Globalization;
using System.Text.Json;
using Mesh.Inference.Models.Gguf;
using Mesh.Inference.Models.SafeTensors;

namespace Mesh.Inference.Models.Lora;

/// <summary>
/// Reads a Hugging Face PEFT LoRA directory: <c>adapter_config.json</c> (<c>peft_type</c> LORA, <c>r</c>,
/// <c>lora_alpha</c>, <c>target_modules</c>, <c>use_rslora</c>) and <c>adapter_model.safetensors</c> with
/// <c>base_model.model.model.layers.N.{self_attn|mlp}.{q|k|v|o|gate|up|down}_proj.lora_A.weight</c> ([r, in])
/// and <c>.lora_B.weight</c> ([out, r]). Scale = lora_alpha / r (PEFT's <c>scaling</c>; / √r with rsLoRA).
/// Over a base with llama.cpp's adjacent-pair RoPE layout (a GGUF <c>llama</c> model) the Q/K B rows are
/// permuted as llama.cpp's <c>convert_lora_to_gguf.py</c> permutes them.
/// </summary>
public static class PeftLoraReader
{
    /// <summary>The configuration file's name.</summary>
    public const string ConfigFile = "adapter_config.json";

    /// <summary>The weights file's name.</summary>
    public const string WeightsFile = "adapter_model.safetensors";

    private const int MaxConfigBytes = 1 << 20;
    private const string Prefix = "base_model.model.model.layers.";

    /// <summary>Reads the PEFT directory <paramref name="directory"/> as an adapter of a model with <paramref name="config"/>.</summary>
    /// <exception cref="ModelFormatException">A missing or malformed file, an unsupported option (DoRA, biases, rank or alpha patterns), an unknown or misshapen tensor.</exception>
    public static LoraAdapter Read(string directory, string name, LlamaConfig config)
    {
        var configPath = Path.Combine(directory, ConfigFile);
        var (rank, alpha, rsLora) = ReadConfig(configPath);
        var weights = Path.Combine(directory, WeightsFile);
        if (!File.Exists(weights))
        {
            throw new ModelFormatException(directory, WeightsFile, "is missing (only the safetensors form of a PEFT adapter is read)");
        }

        using var file = SafetensorsFile.Open(weights);
        var factors = new LoraFactors(weights, config);
        var permute = config.RopeStyle == RopeStyle.Adjacent;
        foreach (var t in file.Tensors.Values)
        {
            var (layer, target, isA) = Parse(file, t.Name);
            var (rows, cols, tensorRank) = factors.Check(t.Name, layer, target, isA, t.Shape);
            if (tensorRank != rank)
            {
                throw file.Error(t.Name, $"has rank {tensorRank} but {ConfigFile} says r = {rank}");
            }

            var type = t.DType switch
            {
                "F32" => GgmlType.F32,
                "F16" => GgmlType.F16,
                "BF16" => GgmlType.BF16,
                var other => throw file.Error(t.Name, $"dtype {other} is not supported (F32, F16, BF16)"),
            };
            var values = factors.Read(t.Name, type, rows, cols, file.GetData(t));
            if (!isA && permute && target is LoraTarget.Query or LoraTarget.Key)
            {
                values = LoraLayout.PermuteRowsToAdjacent(values, rows, cols, config.HeadDim);
            }

            factors.Add(t.Name, layer, target, isA, values, tensorRank);
        }

        return factors.Build(name, "peft", alpha, r => LoraLayout.Scale(alpha, r, rsLora));
    }

    private static (int Rank, float Alpha, bool RsLora) ReadConfig(string path)
    {
        if (!File.Exists(path))
        {
            throw new ModelFormatException(path, ConfigFile, "is missing: a PEFT adapter directory holds adapter_config.json and adapter_model.safetensors");
        }

        if (new FileInfo(path).Length > MaxConfigBytes)
        {
            throw new ModelFormatException(path, ConfigFile, $"is larger than {MaxConfigBytes} bytes");
        }

        try
        {
            using var json = JsonDocument.Parse(File.ReadAllBytes(path));
            var root = json.RootElement;
            if (root.TryGetProperty("peft_type", out var type) && type.GetString() != "LORA")
            {
                throw new ModelFormatException(path, "peft_type", $"is '{type}', only LORA adapters are served");
            }

            Refuse(root, path, "use_dora", v => v.ValueKind == JsonValueKind.True, "DoRA adapters are not supported");
            Refuse(root, path, "bias", v => v.ValueKind == JsonValueKind.String && v.GetString() != "none", "trained biases are not supported (bias must be \"none\")");
            Refuse(root, path, "rank_pattern", v => v.ValueKind == JsonValueKind.Object && v.EnumerateObject().Any(), "per-module ranks are not supported");
            Refuse(root, path, "alpha_pattern", v => v.ValueKind == JsonValueKind.Object && v.EnumerateObject().Any(), "per-module alphas are not supported");
            if (!root.TryGetProperty("r", out var r) || !r.TryGetInt32(out var rank) || rank < 1 || rank > LoraLayout.MaxRank)
            {
                throw new ModelFormatException(path, "r", $"must be an integer from 1 to {LoraLayout.MaxRank}");
            }

            var alpha = root.TryGetProperty("lora_alpha", out var a) && a.ValueKind == JsonValueKind.Number ? a.GetSingle() : rank;
            if (!float.IsFinite(alpha) || alpha <= 0)
            {
                throw new ModelFormatException(path, "lora_alpha", $"must be a positive number, not {alpha.ToString(CultureInfo.InvariantCulture)}");
            }

            var rs = root.TryGetProperty("use_rslora", out var u) && u.ValueKind == JsonValueKind.True;
            return (rank, alpha, rs);
        }
        catch (JsonException e)
        {
            throw new ModelFormatException(path, ConfigFile, $"is not valid JSON: {e.Message}");
        }
        catch (InvalidOperationException e)
        {
            throw new ModelFormatException(path, ConfigFile, $"has a field of the wrong type: {e.Message}");
        }
    }

    private static void Refuse(JsonElement root, string path, string field, Func<JsonElement, bool> bad, string why)
    {
        if (root.TryGetProperty(field, out var value) && bad(value))
        {
            throw new ModelFormatException(path, field, why);
        }
    }

    private static (int Layer, LoraTarget Target, bool IsA) Parse(SafetensorsFile file, string name)
    {
        // base_model.model.model.layers.{N}.{self_attn|mlp}.{module}.lora_{A|B}.weight
        if (name.StartsWith(Prefix, StringComparison.Ordinal))
        {
            var parts = name[Prefix.Length..].Split('.');
            if (parts.Length == 5 && parts[4] == "weight" && parts[3] is "lora_A" or "lora_B"
                && int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var layer))
            {
                var target = Array.IndexOf(LoraLayout.HuggingFacePaths, parts[1] + "." + parts[2]);
                if (target >= 0)
                {
                    return (layer, (LoraTarget)target, parts[3] == "lora_A");
                }
            }
        }

        throw file.Error(name, $"is not a LoRA factor Mesh applies: expected {Prefix}N.{{{string.Join('|', LoraLayout.HuggingFacePaths)}}}.lora_A.weight or .lora_B.weight");
    }
}
