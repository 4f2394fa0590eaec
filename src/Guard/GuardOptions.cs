using Mesh.Guard.Quality.Judge;

namespace Mesh.Guard;

/// <summary>Guard's settings, bound from the <c>Guard</c> configuration section.</summary>
public sealed class GuardOptions
{
    /// <summary>The configuration section the options bind from.</summary>
    public const string SectionName = "Guard";

    /// <summary>
    /// The policy file (YAML or JSON). Relative paths resolve against the application's base
    /// directory, where the default <c>policies.yaml</c> ships.
    /// </summary>
    public string PolicyFile { get; set; } = "policies.yaml";

    /// <summary>Whether an edit of the policy file is picked up without a restart.</summary>
    public bool WatchPolicyFile { get; set; } = true;

    /// <summary>
    /// Poll the policy file instead of relying on file-system events (for mounts that raise none,
    /// such as some container volumes).
    /// </summary>
    public bool PollPolicyFile { get; set; }

    /// <summary>Longest text one check accepts, in code points; longer gets INVALID_ARGUMENT.</summary>
    public int MaxTextChars { get; set; } = 1_000_000;

    /// <summary>Intra-op threads of the embedding model for one request.</summary>
    public int EmbeddingThreads { get; set; } = 1;

    /// <summary>Segments per embedding batch (a batch is padded to its longest segment).</summary>
    public int EmbeddingBatchSize { get; set; } = 16;

    /// <summary>
    /// Embedding runs (batches) in flight at once across all checks; one check's batches spread
    /// over the idle ones. Default: the number of cores.
    /// </summary>
    public int EmbeddingParallelism { get; set; } = Environment.ProcessorCount;

    /// <summary>Sentence vectors kept in the least-recently-used cache (1.5 KB each); 0 turns it off.</summary>
    public int SentenceCacheEntries { get; set; } = 8192;

    /// <summary>
    /// The embedding implementation: <c>MiniLm</c> (default, <c>MiniLmEmbedder</c>) or
    /// <c>SentenceEncoder</c> (the package's own encoder, the reference the benchmark compares with).
    /// </summary>
    public string Embedder { get; set; } = "MiniLm";

    /// <summary>Longest JSON Schema a request may carry, in characters (INVALID_ARGUMENT beyond).</summary>
    public int MaxSchemaChars { get; set; } = 262_144;

    /// <summary>How many compiled JSON Schemas given with requests are kept for reuse.</summary>
    public int SchemaCacheSize { get; set; } = 256;

    /// <summary>The judge model of QualityService/Evaluate (<c>Guard:Judge:*</c>); unset: no judge.</summary>
    public JudgeOptions Judge { get; set; } = new();
}
