using Mesh.Retrieval.Filtering;

namespace Mesh.Retrieval.Collections;

/// <summary>Which index answers a search (the contract's <c>SearchMode</c>).</summary>
internal enum QueryMode
{
    /// <summary>The HNSW graph of dense vectors.</summary>
    Dense,

    /// <summary>The BM25 index.</summary>
    Sparse,

    /// <summary>Both, fused by reciprocal rank fusion.</summary>
    Hybrid,
}

/// <summary>
/// One validated search, in the collection's terms. <see cref="Vector"/> is set for dense and hybrid,
/// <see cref="Text"/> for sparse and hybrid. <see cref="Ef"/> 0 means the collection's ef_search;
/// <see cref="Threshold"/> applies to the dense scores (dense, hybrid) or the BM25 scores (sparse).
/// </summary>
internal sealed record SearchQuery(QueryMode Mode, float[]? Vector, string? Text, int Limit, CompiledFilter? Filter, int Ef, bool Exact, float? Threshold);
