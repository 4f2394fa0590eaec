namespace Mesh.Inference.Tests.Architectures;

/// <summary>The synthetic models of each supported architecture variant the parity tests run.</summary>
internal static class ArchitectureCases
{
    /// <summary>Case names, for [MemberData].</summary>
    public static TheoryData<string> Names => new() { "llama", "llama-tied", "llama3-rope-scaling", "qwen2", "qwen3" };

    /// <summary>
    /// The model of case <paramref name="name"/> over a vocabulary of <paramref name="vocab"/> tokens.
    /// Tied models get larger block outputs (blockScale), or the token's own embedding would dominate
    /// the residual stream and greedy decoding would repeat one token; the seeds are ones whose 32
    /// greedy tokens vary (random models fall into loops), so the comparison covers many argmaxes.
    /// </summary>
    public static SyntheticFamilyModel Create(string name, int vocab) => name switch
    {
        // Llama 2 shape: grouped-query attention, separate classifier.
        "llama" => new SyntheticFamilyModel("llama", vocab, seed: 11, tied: false),
        // SmolLM / Llama 3.2 1B shape: classifier tied to the embedding.
        "llama-tied" => new SyntheticFamilyModel("llama", vocab, seed: 20, tied: true, blockScale: 6f),
        // Llama 3.1: θ = 500,000 and rope_scaling llama3, its original context small enough that
        // the three wavelength bands (kept, interpolated, divided by the factor) all occur at head_dim 16;
        // larger Q/K weights sharpen attention so that positions, and so the scaling, matter.
        "llama3-rope-scaling" => new SyntheticFamilyModel("llama", vocab, seed: 30, tied: true, dim: 64, heads: 4, kvHeads: 1, theta: 500000f, qkScale: 4f, blockScale: 6f, llama3: (8f, 1f, 4f, 64)),
        // Qwen 2.5: Q/K/V biases, NeoX RoPE, tied.
        "qwen2" => new SyntheticFamilyModel("qwen2", vocab, seed: 32, tied: true, biases: true, theta: 1000000f, blockScale: 6f),
        // Qwen 3: per-head Q/K RMSNorm, NeoX RoPE, head_dim 32 ≠ dim/heads = 16.
        "qwen3" => new SyntheticFamilyModel("qwen3", vocab, seed: 15, tied: false, headDim: 32, qkNorm: true, theta: 1000000f),
        _ => throw new ArgumentOutOfRangeException(nameof(name), name, "unknown case"),
    };
}
