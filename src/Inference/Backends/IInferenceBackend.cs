using Mesh.Inference.Models;

namespace Mesh.Inference.Backends;

/// <summary>
/// Runs a model's forward pass on some device. The CPU and CUDA backends implement it; the engine
/// above (scheduler, KV block allocation, sampling) is shared. A backend owns the weights in the form
/// its device wants and the storage of the paged KV cache; which block holds what is decided by the
/// engine and passed in each batch's block tables.
/// </summary>
public interface IInferenceBackend : IDisposable
{
    /// <summary>"cpu" or "cuda".</summary>
    string Name { get; }

    /// <summary>
    /// The hyperparameters of the model this backend runs (shapes of the weights, vocabulary, context).
    /// </summary>
    LlamaConfig Config { get; }

    /// <summary>Shape of the paged KV cache this backend allocated.</summary>
    KvCacheGeometry KvGeometry { get; }

    /// <summary>
    /// Runs every token of <paramref name="batch"/> through the model, stores their keys and values in
    /// the KV cache, and writes the logits of <see cref="ForwardBatch.LogitTokens"/> into
    /// <paramref name="logits"/> as rows of <see cref="LlamaConfig.VocabSize"/> floats. Not thread-safe:
    /// one batch at a time.
    /// </summary>
    void Forward(ForwardBatch batch, Span<float> logits);

    /// <summary>
    /// Whether <see cref="Forward"/> applies the LoRA adapters of <see cref="ForwardBatch.Adapters"/>
    /// (the CPU backend does; a backend that does not refuses adapters at load).
    /// </summary>
    bool SupportsLoraAdapters => false;
}

/// <summary>
/// The paged KV cache: <see cref="BlockCount"/> blocks of <see cref="BlockSize"/> token slots, each
/// slot holding one token's keys and values for every layer. The engine hands out block ids; the
/// layout inside a block is the backend's own (the CPU backend stores a slot's keys as one contiguous
/// kv_dim row, the CUDA backend [kv_head][slot][head_dim] for coalesced reads).
/// </summary>
public readonly record struct KvCacheGeometry(int BlockSize, int BlockCount)
{
    /// <summary>Token slots per block unless configured (vLLM's default block size).</summary>
    public const int DefaultBlockSize = 16;

    /// <summary>Bytes one block takes for a model (keys and values, all layers, f32).</summary>
    public static long BytesPerBlock(LlamaConfig config, int blockSize) =>
        2L * config.Layers * blockSize * config.KvDim * sizeof(float);
}

/// <summary>How a backend is created.</summary>
public sealed record BackendOptions
{
    /// <summary>Worker threads for the CPU backend; 0 means every core.</summary>
    public int Threads { get; init; }

    /// <summary>How the CPU backend runs its parallel regions: its own worker team (default) or the thread pool (A/B baseline).</summary>
    public CpuParallelism CpuParallelism { get; init; }

    /// <summary>
    /// Where the model's weights are kept while it is served (<see cref="Models.WeightMemory"/>): on huge
    /// pages where Linux offers them (the default), or memory-mapped from the file. A device that
    /// uploads the weights (CUDA) keeps them mapped.
    /// </summary>
    public WeightMemory WeightMemory { get; init; }

    /// <summary>Tokens per KV block.</summary>
    public int KvBlockSize { get; init; } = KvCacheGeometry.DefaultBlockSize;

    /// <summary>KV blocks to allocate; 0 means enough for <see cref="KvCacheBytes"/>.</summary>
    public int KvBlockCount { get; init; }

    /// <summary>Memory budget of the KV cache when <see cref="KvBlockCount"/> is 0 (default 256 MiB).</summary>
    public long KvCacheBytes { get; init; } = 256L << 20;

    /// <summary>
    /// Whether a backend that can (CUDA) masks, penalises and samples on the device so that only
    /// token ids come back per step. Off until a GPU check has passed it (issue 17).
    /// </summary>
    public bool DeviceSampling { get; init; }

    /// <summary>
    /// The CPU backend's attention before runs (one item per token and head, each re-reading the
    /// context): the benchmarks' baseline for <see cref="Cpu.CpuAttention"/>, not for serving.
    /// </summary>
    internal bool PerTokenAttention { get; init; }

    /// <summary>
    /// The worker threads to start: <see cref="Threads"/>, or <see cref="Environment.ProcessorCount"/> when it is 0.
    /// </summary>
    public int ResolveThreads() => Threads > 0 ? Threads : Environment.ProcessorCount;

    /// <summary>The block count these options give for a model, at least enough for one full context.</summary>
    public int ResolveBlockCount(LlamaConfig config)
    {
        var perSequence = (config.ContextLength + KvBlockSize - 1) / KvBlockSize;
        if (KvBlockCount > 0)
        {
            return KvBlockCount;
        }

        var byBudget = (int)Math.Min(int.MaxValue, KvCacheBytes / KvCacheGeometry.BytesPerBlock(config, KvBlockSize));
        return Math.Max(byBudget, perSequence);
    }
}
