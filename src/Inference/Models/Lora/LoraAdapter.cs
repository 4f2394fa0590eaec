namespace Mesh.Inference.Models.Lora;

/// <summary>The projections of a Llama block an adapter may change (llama.cpp's GGUF stems, PEFT's module names).</summary>
public enum LoraTarget
{
    /// <summary><c>attn_q</c> / <c>q_proj</c>.</summary>
    Query,
    /// <summary><c>attn_k</c> / <c>k_proj</c>.</summary>
    Key,
    /// <summary><c>attn_v</c> / <c>v_proj</c>.</summary>
    Value,
    /// <summary><c>attn_output</c> / <c>o_proj</c>.</summary>
    Output,
    /// <summary><c>ffn_gate</c> / <c>gate_proj</c>.</summary>
    Gate,
    /// <summary><c>ffn_up</c> / <c>up_proj</c>.</summary>
    Up,
    /// <summary><c>ffn_down</c> / <c>down_proj</c>.</summary>
    Down,
}

/// <summary>
/// One low-rank update ΔW = scale · B·A of a [out, in] weight (Hu et al. 2021, "LoRA"): y = W·x + scale · B·(A·x).
/// <see cref="A"/> is [rank, in] and <see cref="B"/> is [out, rank], row-major f32 — PEFT's
/// <c>lora_A.weight</c>/<c>lora_B.weight</c>, and llama.cpp's <c>lora_a</c> (GGML ne [in, rank]) /
/// <c>lora_b</c> (ne [rank, out]).
/// </summary>
public sealed class LoraMatrix
{
    /// <summary>Checks the lengths against the shape; <see cref="ArgumentException"/> otherwise.</summary>
    public LoraMatrix(int rank, int inputs, int outputs, float[] a, float[] b, float scale)
    {
        if (rank <= 0 || inputs <= 0 || outputs <= 0 || a.Length != (long)rank * inputs || b.Length != (long)outputs * rank)
        {
            throw new ArgumentException($"LoRA factors of rank {rank} for a [{outputs}, {inputs}] weight need A of {rank}×{inputs} and B of {outputs}×{rank} values");
        }

        (Rank, Inputs, Outputs, A, B, Scale) = (rank, inputs, outputs, a, b, scale);
    }

    /// <summary>r, the rank of the update.</summary>
    public int Rank { get; }

    /// <summary>Columns of the base weight (the input width).</summary>
    public int Inputs { get; }

    /// <summary>Rows of the base weight (the output width).</summary>
    public int Outputs { get; }

    /// <summary>The down projection, [rank, in].</summary>
    public float[] A { get; }

    /// <summary>The up projection, [out, rank].</summary>
    public float[] B { get; }

    /// <summary>The factor on B·A: alpha / rank (llama.cpp and PEFT), or 1 when alpha is 0 (llama.cpp).</summary>
    public float Scale { get; }
}

/// <summary>
/// A LoRA adapter for one base model: for each block and <see cref="LoraTarget"/>, an optional
/// <see cref="LoraMatrix"/>. Read by <see cref="GgufLoraReader"/> or <see cref="PeftLoraReader"/>, which
/// check every shape against the base model; applied per sequence by the CPU backend.
/// </summary>
public sealed class LoraAdapter
{
    private static long _loads;
    private readonly LoraMatrix?[][] _layers;

    /// <param name="name">The name requests use (<c>adapter</c> field, OpenAI <c>model</c> = <c>base:name</c>).</param>
    /// <param name="format"><c>gguf</c> or <c>peft</c>.</param>
    /// <param name="alpha">The file's alpha (0 in a GGUF without one).</param>
    /// <param name="layers">[block][<see cref="LoraTarget"/>] → the update, or null.</param>
    public LoraAdapter(string name, string format, float alpha, LoraMatrix?[][] layers)
    {
        (Name, Format, Alpha, _layers) = (name, format, alpha, layers);
        Rank = layers.SelectMany(l => l).Where(m => m is not null).Select(m => m!.Rank).DefaultIfEmpty(0).Max();
        // A new identity per load: a name unloaded and loaded again with other weights must not reuse cached KV.
        CacheKey = $"lora:{name}#{Interlocked.Increment(ref _loads)}";
    }

    /// <summary>The name requests choose it by.</summary>
    public string Name { get; }

    /// <summary><c>gguf</c> or <c>peft</c>.</summary>
    public string Format { get; }

    /// <summary>The file's alpha.</summary>
    public float Alpha { get; }

    /// <summary>The largest rank of its matrices.</summary>
    public int Rank { get; }

    /// <summary>Distinguishes this load of the adapter in the prefix cache's salt (an adapter changes every layer's KV).</summary>
    public string CacheKey { get; }

    /// <summary>Blocks covered (the base model's layer count).</summary>
    public int Layers => _layers.Length;

    /// <summary>Number of adapted matrices.</summary>
    public int MatrixCount => _layers.Sum(l => l.Count(m => m is not null));

    /// <summary>Parameters of all A and B factors.</summary>
    public long ParameterCount => _layers.SelectMany(l => l).Where(m => m is not null).Sum(m => (long)m!.A.Length + m.B.Length);

    /// <summary>The update of <paramref name="target"/> in block <paramref name="layer"/>, or null.</summary>
    public LoraMatrix? Get(int layer, LoraTarget target) => _layers[layer][(int)target];

    /// <summary>Which targets the adapter changes (in any block).</summary>
    public IEnumerable<LoraTarget> Targets =>
        Enum.GetValues<LoraTarget>().Where(t => _layers.Any(l => l[(int)t] is not null));
}
