using System.Globalization;
using Mesh.Inference.Models.Gguf;

namespace Mesh.Inference.Models.Lora;

/// <summary>
/// Reads llama.cpp's GGUF LoRA adapter (what <c>convert_lora_to_gguf.py</c> writes and
/// <c>llama_adapter_lora_init</c> loads): <c>general.type = adapter</c>, <c>adapter.type = lora</c>,
/// <c>general.architecture</c> equal to the base model's, <c>adapter.lora.alpha</c> (f32; absent = 0,
/// scale 1), and tensor pairs <c>blk.N.{attn_q|attn_k|attn_v|attn_output|ffn_gate|ffn_up|ffn_down}.weight.lora_a</c>
/// (GGML ne [in, rank]) / <c>.lora_b</c> (ne [rank, out]) in F32, F16 or BF16. Scale = alpha / rank.
/// </summary>
public static class GgufLoraReader
{
    /// <summary>Reads <paramref name="path"/> as an adapter of a model with <paramref name="config"/>.</summary>
    /// <exception cref="ModelFormatException">Not an adapter, another architecture, an unknown or misshapen tensor, a rank past the bound, a factor without its partner.</exception>
    public static LoraAdapter Read(string path, string name, LlamaConfig config)
    {
        using var gguf = GgufFile.Open(path);
        Require(gguf, "general.type", "adapter");
        Require(gguf, "adapter.type", "lora");
        var architecture = gguf.GetString("general.architecture");
        if (architecture != config.Architecture)
        {
            throw gguf.Error("general.architecture", $"the adapter is for '{architecture}' but the base model is '{config.Architecture}'");
        }

        if (config.Architecture == "llama" && config.RopeStyle != RopeStyle.Adjacent)
        {
            // llama.cpp's converter permuted the adapter's Q/K rows to match its permuted base weights.
            throw gguf.Error("general.architecture", "a GGUF llama adapter has Q/K rows in llama.cpp's permuted order: serve it over the GGUF base model, or load the PEFT directory over this one");
        }

        var alpha = gguf.TryGetFloat32("adapter.lora.alpha", out var a) ? a : 0f;
        if (!float.IsFinite(alpha))
        {
            throw gguf.Error("adapter.lora.alpha", $"{alpha} is not a finite number");
        }

        var factors = new LoraFactors(path, config);
        foreach (var t in gguf.Tensors.Values)
        {
            var (layer, target, isA) = Parse(gguf, t.Name);

            // GGML ne[0] is the row length: A is ne [in, rank] = [rank, in] row-major, B is ne [rank, out].
            var (rows, cols, rank) = factors.Check(t.Name, layer, target, isA, Enumerable.Reverse(t.Dimensions).ToArray());
            var values = factors.Read(t.Name, t.Type, rows, cols, gguf.GetTensorData(t));
            factors.Add(t.Name, layer, target, isA, values, rank);
        }

        return factors.Build(name, "gguf", alpha, rank => LoraLayout.Scale(alpha, rank));
    }

    private static void Require(GgufFile gguf, string key, string expected)
    {
        var value = gguf.Contains(key) ? gguf.GetString(key) : "(missing)";
        if (value != expected)
        {
            throw gguf.Error(key, $"is '{value}', but a LoRA adapter has '{expected}'");
        }
    }

    private static (int Layer, LoraTarget Target, bool IsA) Parse(GgufFile gguf, string name)
    {
        // blk.{N}.{stem}.weight.lora_{a|b}
        var parts = name.Split('.');
        if (parts.Length == 5 && parts[0] == "blk" && parts[3] == "weight" && parts[4] is "lora_a" or "lora_b"
            && int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var layer))
        {
            var target = Array.IndexOf(LoraLayout.GgufStems, parts[2]);
            if (target >= 0)
            {
                return (layer, (LoraTarget)target, parts[4] == "lora_a");
            }
        }

        throw gguf.Error(name, $"is not a LoRA factor Mesh applies: expected blk.N.{{{string.Join('|', LoraLayout.GgufStems)}}}.weight.lora_a or .lora_b");
    }
}
