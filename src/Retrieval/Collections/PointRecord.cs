using Google.Protobuf.WellKnownTypes;
using Mesh.Retrieval.Filtering;
using Mesh.Retrieval.Sparse;

namespace Mesh.Retrieval.Collections;

/// <summary>
/// A stored point. Immutable: an upsert replaces the whole record under a new index key, so a search never
/// sees a vector of one version with the payload of another; a payload update replaces the record under the
/// same key (the vector, and so the graph, is unchanged).
/// </summary>
internal sealed class PointRecord(ulong key, PointKey id, float[] vector, Struct payload, IndexedValues values, string text = "", Bm25Document? document = null)
{
    /// <summary>Key of the point in the HNSW index.</summary>
    public ulong Key { get; } = key;

    public PointKey Id { get; } = id;

    /// <summary>The exact vector as upserted (the index may hold it in half precision).</summary>
    public float[] Vector { get; } = vector;

    public Struct Payload { get; } = payload;

    /// <summary>The payload values of the declared index fields, extracted once at upsert.</summary>
    public IndexedValues Values { get; } = values;

    /// <summary>The text the point was upserted with ("" for a vector upsert); kept for the BM25 index.</summary>
    public string Text { get; } = text;

    /// <summary>The point's BM25 document (<see cref="Bm25Document.Empty"/> when the collection has no BM25 index).</summary>
    public Bm25Document Document { get; } = document ?? Bm25Document.Empty;
}
