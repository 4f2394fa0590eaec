using Mesh.Inference.Backends;
using Mesh.Inference.Engine;
using Mesh.Inference.Models;

namespace Mesh.Inference.Hosting;

/// <summary>The Inference service's configuration (section <c>Inference</c>).</summary>
public sealed class InferenceOptions
{
    /// <summary>The configuration section these options bind from.</summary>
    public const string SectionName = "Inference";

    /// <summary>Models to load at start-up.</summary>
    public List<ModelOptions> Models { get; set; } = [];

    /// <summary>"auto" (CUDA when a usable GPU is present, else CPU), "cpu" or "cuda".</summary>
    public string Device { get; set; } = "auto";

    /// <summary>CPU backend threads; 0 means every core.</summary>
    public int Threads { get; set; }

    /// <summary>How the CPU backend runs its parallel regions: WorkerTeam (default) or ThreadPool (the A/B baseline).</summary>
    public CpuParallelism CpuParallelism { get; set; }

    /// <summary>
    /// Where the weights are kept: <c>Auto</c> (huge pages where Linux offers them, else mapped),
    /// <c>HugePages</c> (read into private memory on 2 MiB pages: faster decode) or <c>Mapped</c>
    /// (memory-mapped: no copy, shared with other processes through the page cache).
    /// </summary>
    public WeightMemory WeightMemory { get; set; }

    /// <summary>KV cache budget per model, in MiB.</summary>
    public int KvCacheMb { get; set; } = 256;

    /// <summary>KV cache size in blocks (overrides <see cref="KvCacheMb"/> when > 0).</summary>
    public int KvBlocks { get; set; }

    /// <summary>
    /// The folder LoRA adapters are loaded from by the admin RPC (paths are relative to it and may not
    /// leave it); unset, loading adapters at run time is off.
    /// </summary>
    public string? AdapterDirectory { get; set; }

    /// <summary>Scheduler limits shared by every model (section <c>Inference:Engine</c>).</summary>
    public EngineOptions Engine { get; set; } = new();

    /// <summary>
    /// Resolve model references (<c>hf:</c>, <c>https://</c>) from the cache only, never the network
    /// (<c>serve --offline</c>; <c>MESH_OFFLINE=1</c> and <c>HF_HUB_OFFLINE=1</c> do the same).
    /// </summary>
    public bool Offline { get; set; }
}

/// <summary>One model to serve.</summary>
public sealed class ModelOptions
{
    /// <summary>The id requests use; defaults to the file name without extension.</summary>
    public string? Id { get; set; }

    /// <summary>
    /// A GGUF file, a Hugging Face model directory or a llama2.c checkpoint; or a reference resolved
    /// through the model cache before loading (<c>hf:org/repo:Q4_K_M</c>, <c>https://…#sha256=…</c>;
    /// see <see cref="ModelCache.ModelReference"/>).
    /// </summary>
    public string Path { get; set; } = "";

    /// <summary>Tokenizer file for llama2.c checkpoints (tok512.bin, tokenizer.bin or a SentencePiece .model).</summary>
    public string? Tokenizer { get; set; }

    /// <summary>
    /// The chat template for the Chat RPC, overriding the model's <c>tokenizer.chat_template</c>: a family
    /// name (<see cref="Chat.ChatTemplate.Names"/>: chatml, llama3, mistral-v7…) or a Jinja template text
    /// of one of those families. Unset: the model's own.
    /// </summary>
    public string? ChatTemplate { get; set; }
}
