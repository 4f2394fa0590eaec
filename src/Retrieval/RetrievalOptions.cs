namespace Mesh.Retrieval;

/// <summary>Settings of the Retrieval service, bound from the <c>Retrieval</c> configuration section.</summary>
public sealed class RetrievalOptions
{
    /// <summary>The configuration section these settings bind from.</summary>
    public const string SectionName = "Retrieval";

    /// <summary>Folder holding every collection (one sub-folder per tenant, then per collection).</summary>
    public string DataPath { get; set; } = "data/retrieval";

    /// <summary>
    /// A filtered search whose matching points number at most this is answered by exact search over
    /// those points (the true top-k, and cheaper than a graph walk that must skip 99% of nodes); above
    /// it the HNSW graph is walked with the filter applied inside the walk.
    /// </summary>
    public int ExactSearchThreshold { get; set; } = 4096;

    /// <summary>Write-ahead-log size after which a collection writes a snapshot and starts a new log.</summary>
    public long SnapshotAfterLogBytes { get; set; } = 64L * 1024 * 1024;

    /// <summary>Native search contexts per collection: searches and inserts in flight at once. 0: two per core.</summary>
    public int IndexConcurrency { get; set; }

    /// <summary>Largest serialized payload of one point.</summary>
    public int MaxPayloadBytes { get; set; } = 64 * 1024;

    /// <summary>Most points in one upsert, import batch, get or delete.</summary>
    public int MaxPointsPerRequest { get; set; } = 10_000;

    /// <summary>
    /// Largest response a Search, SearchBatch or Get builds (bytes serialized): hits with vectors and
    /// payloads are counted as they are added, and a larger answer is RESOURCE_EXHAUSTED, not a memory spike.
    /// </summary>
    public int MaxResponseBytes { get; set; } = 64 * 1024 * 1024;

    /// <summary>
    /// Vectors of single texts (text queries, one-text Embed calls) kept so a repeated question skips
    /// the embedder: about 1.5 KiB each for MiniLM. 0 turns the cache off.
    /// </summary>
    public int QueryEmbeddingCacheEntries { get; set; } = 4096;
}
