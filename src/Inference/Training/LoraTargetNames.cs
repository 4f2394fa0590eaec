using Mesh.Inference.Models.Lora;

namespace Mesh.Inference.Training;

/// <summary>The projection names a tuning request may give: short (q…down), llama.cpp's stems (attn_q…) and PEFT's module names (q_proj…).</summary>
public static class LoraTargetNames
{
    private static readonly Dictionary<string, LoraTarget> Names = new(StringComparer.OrdinalIgnoreCase)
    {
        ["q"] = LoraTarget.Query, ["k"] = LoraTarget.Key, ["v"] = LoraTarget.Value, ["o"] = LoraTarget.Output,
        ["gate"] = LoraTarget.Gate, ["up"] = LoraTarget.Up, ["down"] = LoraTarget.Down,
        ["attn_q"] = LoraTarget.Query, ["attn_k"] = LoraTarget.Key, ["attn_v"] = LoraTarget.Value, ["attn_output"] = LoraTarget.Output,
        ["ffn_gate"] = LoraTarget.Gate, ["ffn_up"] = LoraTarget.Up, ["ffn_down"] = LoraTarget.Down,
        ["q_proj"] = LoraTarget.Query, ["k_proj"] = LoraTarget.Key, ["v_proj"] = LoraTarget.Value, ["o_proj"] = LoraTarget.Output,
        ["gate_proj"] = LoraTarget.Gate, ["up_proj"] = LoraTarget.Up, ["down_proj"] = LoraTarget.Down,
    };

    /// <summary>The targets named by <paramref name="names"/>.</summary>
    /// <exception cref="ArgumentException">An unknown name; the message starts with <paramref name="option"/>.</exception>
    public static LoraTarget[] Parse(IEnumerable<string> names, string option) =>
    [
        .. names.Select(n => Names.TryGetValue(n, out var t) ? t
            : throw new ArgumentException($"{option}: '{n}' is not a projection; use q,k,v,o,gate,up,down")),
    ];
}
