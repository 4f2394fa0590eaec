namespace Mesh.Inference.Models.Lora;

/// <summary>
/// What both adapter readers check against the base model: the [out, in] shape of each target, the
/// rank bound, the names of the targets in each format, and the Q/K row order of RoPE.
/// </summary>
internal static class LoraLayout
{
    /// <summary>The largest rank accepted (also bounded by the target's smaller side): adapters are untrusted input.</summary>
    public const int MaxRank = 1024;

    /// <summary>llama.cpp's tensor stems (<c>blk.N.{stem}.weight.lora_a</c>), indexed by <see cref="LoraTarget"/>.</summary>
    public static readonly string[] GgufStems = Stems(LayerTensorNames.Gguf);

    /// <summary>The full Hugging Face module path of each target (<c>self_attn.q_proj</c>), indexed by <see cref="LoraTarget"/>.</summary>
    public static readonly string[] HuggingFacePaths = Stems(LayerTensorNames.HuggingFace);

    /// <summary>[out, in] of <paramref name="target"/>'s weight in <paramref name="config"/>'s blocks.</summary>
    public static (int Outputs, int Inputs) Shape(LlamaConfig config, LoraTarget target) => target switch
    {
        LoraTarget.Query => (config.QueryDim, config.Dim),
        LoraTarget.Key or LoraTarget.Value => (config.KvDim, config.Dim),
        LoraTarget.Output => (config.Dim, config.QueryDim),
        LoraTarget.Gate or LoraTarget.Up => (config.HiddenDim, config.Dim),
        _ => (config.Dim, config.HiddenDim),
    };

    /// <summary>The rank bound of <paramref name="target"/>: <see cref="MaxRank"/> and the weight's smaller side.</summary>
    public static int RankLimit(LlamaConfig config, LoraTarget target)
    {
        var (o, i) = Shape(config, target);
        return Math.Min(MaxRank, Math.Min(o, i));
    }

    /// <summary>
    /// alpha / rank (PEFT's <c>scaling</c>; llama.cpp's <c>get_scale</c>), alpha / √rank with rsLoRA,
    /// and 1 when alpha is 0 (llama.cpp's rule for a GGUF without <c>adapter.lora.alpha</c>).
    /// </summary>
    public static float Scale(float alpha, int rank, bool rsLora = false) =>
        alpha == 0 ? 1f : rsLora ? alpha / MathF.Sqrt(rank) : alpha / rank;

    /// <summary>
    /// Reorders the rows of a Hugging Face Q or K output (B, [heads·headDim, rank]) from NeoX halves to
    /// the adjacent pairs of llama.cpp's <c>llama</c> layout: row (h, s·half + j) moves to (h, 2j + s),
    /// as llama.cpp's converter permutes the base weight and LoRA B alike.
    /// </summary>
    public static float[] PermuteRowsToAdjacent(float[] data, int rows, int cols, int headDim)
    {
        var half = headDim / 2;
        var result = new float[data.Length];
        for (var row = 0; row < rows; row++)
        {
            var (h, within) = (row / headDim, row % headDim);
            var (s, j) = (within / half, within % half);
            Array.Copy(data, (long)row * cols, result, ((long)(h * headDim) + (2 * j) + s) * cols, cols);
        }

        return result;
    }

    private static string[] Stems(LayerTensorNames n) => [n.Query, n.Key, n.Value, n.Output, n.Gate, n.Up, n.Down];
}
