namespace Mesh.Inference.Models;

/// <summary>
/// The architectures Mesh's forward pass runs, named as llama.cpp names them in
/// <c>general.architecture</c>, and what distinguishes them. Following llama.cpp:
/// <list type="bullet">
/// <item><c>llama</c> (Llama 1–3, Mistral 7B/Mistral-Nemo, SmolLM, TinyLlama): adjacent-pair RoPE,
/// the converter having permuted Hugging Face's Q/K rows; optional Q/K/V/O biases.</item>
/// <item><c>qwen2</c> (Qwen 2, 2.5): NeoX RoPE, Q/K/V biases.</item>
/// <item><c>qwen3</c> (Qwen 3 dense): NeoX RoPE, per-head RMSNorm of Q and K before RoPE, head_dim
/// set independently of dim/heads.</item>
/// </list>
/// </summary>
public static class LlamaArchitectures
{
    /// <summary>Every supported <c>general.architecture</c> value.</summary>
    public static IReadOnlyList<string> Supported { get; } = ["llama", "qwen2", "qwen3"];

    /// <summary>Hugging Face <c>architectures</c> entries of config.json and the llama.cpp architecture each maps to (Mistral is llama-shaped, as llama.cpp's converter writes it).</summary>
    public static IReadOnlyDictionary<string, string> HuggingFace { get; } = new Dictionary<string, string>
    {
        ["LlamaForCausalLM"] = "llama",
        ["MistralForCausalLM"] = "llama",
        ["Qwen2ForCausalLM"] = "qwen2",
        ["Qwen3ForCausalLM"] = "qwen3",
    };

    /// <summary>The RoPE pairing llama.cpp uses for <paramref name="architecture"/> on GGUF weights.</summary>
    public static RopeStyle GgufRopeStyle(string architecture) => architecture == "llama" ? RopeStyle.Adjacent : RopeStyle.Neox;

    /// <summary>The error for an architecture Mesh does not run, naming the supported ones.</summary>
    public static ModelFormatException Unsupported(string path, string field, string architecture, IEnumerable<string> supported) =>
        new(path, field, $"architecture '{architecture}' is not supported; supported: {string.Join(", ", supported)}");

    /// <summary>
    /// Llama 3.1's RoPE frequency factors (<c>rope_scaling.rope_type = "llama3"</c>), one per rotated
    /// pair, computed as llama.cpp's converter computes the <c>rope_freqs.weight</c> tensor (and as
    /// Hugging Face's <c>_compute_llama3_parameters</c>): wavelengths shorter than
    /// original_context/high_freq_factor keep their frequency, longer than original_context/low_freq_factor
    /// are divided by <paramref name="factor"/>, and those between are interpolated smoothly.
    /// </summary>
    public static float[] Llama3FrequencyFactors(int headDim, float theta, float factor, float lowFreqFactor, float highFreqFactor, float originalContext)
    {
        var lowFreqWavelength = originalContext / lowFreqFactor;
        var highFreqWavelength = originalContext / highFreqFactor;
        var factors = new float[headDim / 2];
        for (var j = 0; j < factors.Length; j++)
        {
            var frequency = 1.0 / Math.Pow(theta, 2.0 * j / headDim);
            var wavelength = 2 * Math.PI / frequency;
            if (wavelength < highFreqWavelength)
            {
                factors[j] = 1f;
            }
            else if (wavelength > lowFreqWavelength)
            {
                factors[j] = factor;
            }
            else
            {
                var smooth = ((originalContext / wavelength) - lowFreqFactor) / (highFreqFactor - lowFreqFactor);
                factors[j] = (float)(1 / (((1 - smooth) / factor) + smooth));
            }
        }

        return factors;
    }
}
