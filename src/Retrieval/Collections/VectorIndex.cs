using Mesh.Retrieval.Native;

namespace Mesh.Retrieval.Collections;

/// <summary>
/// The vector side of a segment, as Qdrant's vector index: the HNSW graph (<see cref="UsearchIndex"/>) plus
/// what the metric and the storage type demand of what goes into it.
/// <list type="bullet">
/// <item>Cosine: every vector and query is normalised (in double precision) before it is narrowed to the
/// storage type, so a very long or very short vector neither overflows f16 (65504) nor underflows f32,
/// and scores stay in [-1, 1]. Cosine similarity is scale-invariant, so this changes no ranking.</item>
/// <item>L2 and inner product: a component whose magnitude the storage cannot hold, or that would make a
/// distance overflow f32, is refused (<see cref="Refusal"/>), never stored as infinity.</item>
/// </list>
/// Distances are USearch's (lower is closer); <see cref="Score"/> turns them into the contract's scores.
/// </summary>
internal sealed class VectorIndex : IDisposable
{
    /// <summary>Largest finite half-precision value.</summary>
    public const float MaxF16Magnitude = 65504f;

    /// <summary>
    /// Largest component magnitude under f32 storage for L2 and inner product: with at most
    /// <see cref="CollectionConfig.MaxDimensions"/> components, a squared L2 distance (≤ 4·M²·d) stays
    /// below <see cref="float.MaxValue"/>.
    /// </summary>
    public const float MaxF32Magnitude = 1e17f;

    private readonly UsearchIndex _native;

    private VectorIndex(UsearchIndex native, DistanceMetric metric, VectorStorage storage)
    {
        _native = native;
        Metric = metric;
        Storage = storage;
    }

    public DistanceMetric Metric { get; }

    public VectorStorage Storage { get; }

    public int Dimensions => _native.Options.Dimensions;

    /// <summary>Vectors in the graph.</summary>
    public long Count => _native.Count;

    /// <summary>The native index itself (the benchmark queries it directly as "USearch alone").</summary>
    public UsearchIndex Native => _native;

    /// <summary>An empty index for a collection definition.</summary>
    public static VectorIndex Create(CollectionConfig config, int concurrency) =>
        new(UsearchIndex.Create(config.IndexOptions(concurrency)), config.Metric, config.Storage);

    /// <summary>Loads an index file written from <see cref="Serialize"/>.</summary>
    public static VectorIndex Load(CollectionConfig config, int concurrency, string path) =>
        new(UsearchIndex.Load(config.IndexOptions(concurrency), path), config.Metric, config.Storage);

    /// <summary>
    /// Why <paramref name="vector"/> cannot be stored in (or searched against) an index of this metric and
    /// storage, naming the component; null when it can.
    /// </summary>
    public static string? Refusal(ReadOnlySpan<float> vector, DistanceMetric metric, VectorStorage storage)
    {
        var limit = metric == DistanceMetric.Cosine ? float.MaxValue : storage == VectorStorage.F32 ? MaxF32Magnitude : MaxF16Magnitude;
        var zero = true;
        for (var i = 0; i < vector.Length; i++)
        {
            var value = vector[i];
            if (!float.IsFinite(value))
            {
                return $"component {i} is {value}; every component must be a finite number.";
            }
            if (Math.Abs(value) > limit)
            {
                return storage == VectorStorage.F32
                    ? $"component {i} is {value}; {metric} distances overflow beyond a magnitude of {MaxF32Magnitude:G3}, scale the vectors down."
                    : $"component {i} is {value}; f16 storage holds magnitudes up to {MaxF16Magnitude}, scale the vectors down or create the collection with STORAGE_F32.";
            }
            zero &= value == 0;
        }
        return zero && metric == DistanceMetric.Cosine ? "the zero vector has no direction, so cosine similarity is undefined for it." : null;
    }

    /// <summary>Adds a vector under a new key.</summary>
    public void Add(ulong key, float[] vector) => _native.Add(key, Prepare(vector));

    public bool Remove(ulong key) => _native.Remove(key);

    /// <summary>The form of a query the index compares against (normalised for cosine).</summary>
    public float[] Prepare(float[] vector)
    {
        if (Metric != DistanceMetric.Cosine)
        {
            return vector;
        }
        var normalised = new float[vector.Length];
        Normalise(vector, normalised);
        return normalised;
    }

    /// <summary>Graph search for a prepared query; see <see cref="UsearchIndex.Search"/>.</summary>
    public int Search(float[] preparedQuery, int ef, ulong[] keys, float[] distances, Func<ulong, bool>? filter) =>
        _native.Search(preparedQuery, ef, keys, distances, filter);

    /// <summary>
    /// Distance between a prepared query and a stored full-precision vector, with USearch's own kernel so
    /// that exact and graph scores mean the same. <paramref name="scratch"/> (length = dimensions) holds the
    /// normalised vector under cosine.
    /// </summary>
    public float Distance(float[] preparedQuery, float[] vector, float[] scratch)
    {
        if (Metric != DistanceMetric.Cosine)
        {
            return _native.Distance(preparedQuery, vector);
        }
        Normalise(vector, scratch);
        return _native.Distance(preparedQuery, scratch);
    }

    /// <summary>USearch distances (lower is closer) as the contract's scores (higher is closer).</summary>
    public float Score(float distance) => CollectionConfig.Score(Metric, distance);

    /// <summary>The index file image at this moment; see <see cref="UsearchIndex.Serialize"/>.</summary>
    public NativeBuffer Serialize() => _native.Serialize();

    public void Dispose() => _native.Dispose();

    // Unit length, computed in double: squares of 1e-30 or 1e30 neither underflow nor overflow there.
    private static void Normalise(ReadOnlySpan<float> vector, Span<float> into)
    {
        double sum = 0;
        foreach (var value in vector)
        {
            sum += (double)value * value;
        }
        var inverse = sum > 0 ? 1 / Math.Sqrt(sum) : 0;
        for (var i = 0; i < vector.Length; i++)
        {
            into[i] = (float)(vector[i] * inverse);
        }
    }
}
