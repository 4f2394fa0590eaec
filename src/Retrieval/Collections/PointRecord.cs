using Google.Protobuf.WellKnownTypes;
using Mesh.Retrieval.Filtering;

namespace Mesh.Retrieval.Collections;

/// <summary>
/// A stored point. Immutable: an upsert replaces the whole record under a new index key, so a search never
/// sees a vector of one version with the payload of another.
/// </summary>
internal sealed class PointRecord(ulong key, PointKey id, float[] vector, Struct payload, IndexedValues values)
{
    /// <summary>Key of the point in the HNSW index.</summary>
    public ulong Key { get; } = key;

    public PointKey Id { get; } = id;

    /// <summary>The exact vector as upserted (the index may hold it in half precision).</summary>
    public float[] Vector { get; } = vector;

    public Struct Payload { get; } = payload;

    /// <summary>The payload values of the declared index fields, extracted once at upsert.</summary>
    public IndexedValues Values { get; } = values;
}
