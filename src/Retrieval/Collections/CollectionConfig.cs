using Mesh.Retrieval.Embedding;
using Mesh.Retrieval.Filtering;
using Mesh.Retrieval.Native;

namespace Mesh.Retrieval.Collections;

/// <summary>
/// How a collection measures distance. The numbers are the contract's <c>Metric</c>, so a value the contract
/// does not know maps through unchanged and is refused by <see cref="CollectionConfig.Normalize"/>.
/// </summary>
internal enum DistanceMetric
{
    /// <summary>Not chosen; refused at creation.</summary>
    Unspecified = 0,

    /// <summary>Cosine similarity: vectors compared by direction, scores in [-1, 1].</summary>
    Cosine = 1,

    /// <summary>Squared Euclidean distance, scored negated so that higher is closer.</summary>
    L2 = 2,

    /// <summary>Dot product, for vectors the client already normalised.</summary>
    InnerProduct = 3,
}

/// <summary>How the HNSW index stores vectors; the numbers are the contract's <c>Storage</c>.</summary>
internal enum VectorStorage
{
    /// <summary>Not chosen: <see cref="F16"/>.</summary>
    Unspecified = 0,

    /// <summary>Half precision (largest magnitude 65504).</summary>
    F16 = 1,

    /// <summary>Single precision.</summary>
    F32 = 2,
}

/// <summary>HNSW graph parameters; 0 in a draft means the default (<see cref="CollectionConfig.DefaultM"/> …).</summary>
/// <param name="M">Links per node, in [4, 128].</param>
/// <param name="EfConstruction">Candidate list size while inserting, in [8, 4096].</param>
/// <param name="EfSearch">Candidate list size of a search that names no ef of its own, in [8, 4096].</param>
internal sealed record HnswConfig(uint M, uint EfConstruction, uint EfSearch);

/// <summary>BM25 parameters (Robertson and Zaragoza, "The Probabilistic Relevance Framework: BM25 and Beyond").</summary>
/// <param name="TextFields">Payload fields whose strings join a point's document; at most 16.</param>
/// <param name="K1">Term-frequency saturation in [0, 3]; 0 in a draft means 1.2.</param>
/// <param name="B">Length normalisation in [0, 1]; null in a draft means 0.75, never null once normalised.</param>
internal sealed record Bm25Config(IReadOnlyList<string> TextFields, float K1, float? B);

/// <summary>
/// A collection's definition, the internal and immutable form of the contract's <c>CreateCollectionRequest</c>
/// (mapped only in <c>Services/CollectionConfigMapping</c>). A draft straight from a request or a definition
/// file may hold 0 / unset values; <see cref="Normalize"/> checks it and fills in every default, and every
/// collection holds a normalised one.
/// </summary>
/// <param name="Name">1..64 characters of [A-Za-z0-9_-].</param>
/// <param name="Dimensions">Vector length in [1, <see cref="MaxDimensions"/>]; 0 in a draft with an embedder means the embedder's.</param>
/// <param name="Metric">The distance.</param>
/// <param name="Hnsw">The graph parameters.</param>
/// <param name="Embedder">The built-in text embedder's name, or "" for none.</param>
/// <param name="PayloadIndexes">The payload fields filters may use.</param>
/// <param name="Storage">The index's scalar type.</param>
/// <param name="Bm25">The sparse (BM25) index's parameters, or null when the collection has none.</param>
internal sealed record CollectionConfig(
    string Name,
    uint Dimensions,
    DistanceMetric Metric,
    HnswConfig Hnsw,
    string Embedder,
    IReadOnlyList<PayloadIndexSpec> PayloadIndexes,
    VectorStorage Storage,
    Bm25Config? Bm25)
{
    public const int MaxDimensions = 4096;
    public const int DefaultM = 16;
    public const int DefaultEfConstruction = 128;
    public const int DefaultEfSearch = 64;
    public const int MaxEf = 4096;
    public const float DefaultBm25K1 = 1.2f;
    public const float DefaultBm25B = 0.75f;
    public const int MaxBm25Fields = 16;

    private static readonly System.Text.RegularExpressions.Regex NamePattern = new("^[A-Za-z0-9_-]{1,64}$", System.Text.RegularExpressions.RegexOptions.CultureInvariant);

    public static void ValidateName(string name, string field = "name")
    {
        if (!NamePattern.IsMatch(name))
        {
            throw RetrievalException.Invalid($"{field}: a collection name is 1..64 characters of A-Z, a-z, 0-9, '_' and '-'; got \"{name}\".");
        }
    }

    /// <summary>
    /// Checks a draft and returns it with every default filled in; a bad value is INVALID_ARGUMENT naming the
    /// contract's field and what to set. Definitions read back from disk go through here too: their sizes
    /// drive native allocations, so they are as untrusted as a request.
    /// </summary>
    public static CollectionConfig Normalize(CollectionConfig draft, IReadOnlyDictionary<string, ITextEmbedder> embedders)
    {
        ValidateName(draft.Name);
        var dimensions = draft.Dimensions;
        if (draft.Embedder.Length > 0)
        {
            if (!embedders.TryGetValue(draft.Embedder, out var embedder))
            {
                throw RetrievalException.Invalid($"embedder: unknown embedder \"{draft.Embedder}\"; use \"\" or one of: {string.Join(", ", embedders.Keys)}.");
            }
            if (dimensions == 0)
            {
                dimensions = (uint)embedder.Dimensions;
            }
            else if (dimensions != embedder.Dimensions)
            {
                throw RetrievalException.Invalid($"dimensions: the embedder {embedder.Name} produces {embedder.Dimensions} dimensions; got {dimensions} (set 0 or {embedder.Dimensions}).");
            }
        }
        if (dimensions is 0 or > MaxDimensions)
        {
            throw RetrievalException.Invalid($"dimensions: must be in [1, {MaxDimensions}]; got {dimensions}.");
        }
        if (draft.Metric is not (DistanceMetric.Cosine or DistanceMetric.L2 or DistanceMetric.InnerProduct))
        {
            throw RetrievalException.Invalid("metric: set METRIC_COSINE, METRIC_L2 or METRIC_INNER_PRODUCT.");
        }
        var hnsw = new HnswConfig(
            Default(draft.Hnsw.M, DefaultM, 4, 128, "hnsw.m"),
            Default(draft.Hnsw.EfConstruction, DefaultEfConstruction, 8, MaxEf, "hnsw.ef_construction"),
            Default(draft.Hnsw.EfSearch, DefaultEfSearch, 8, MaxEf, "hnsw.ef_search"));
        var storage = draft.Storage;
        if (storage == VectorStorage.Unspecified)
        {
            storage = VectorStorage.F16;
        }
        else if (storage is not (VectorStorage.F16 or VectorStorage.F32))
        {
            throw RetrievalException.Invalid("storage: set STORAGE_F16 or STORAGE_F32.");
        }
        PayloadSchema.Validate(draft.PayloadIndexes);
        return draft with
        {
            Dimensions = dimensions,
            Hnsw = hnsw,
            Storage = storage,
            PayloadIndexes = [.. draft.PayloadIndexes],
            Bm25 = draft.Bm25 is { } bm25 ? NormalizeBm25(bm25) : null,
        };
    }

    /// <summary>BM25 defaults (Robertson's k1 = 1.2, b = 0.75) and bounds.</summary>
    private static Bm25Config NormalizeBm25(Bm25Config bm25)
    {
        if (bm25.TextFields.Count > MaxBm25Fields)
        {
            throw RetrievalException.Invalid($"bm25.text_fields: at most {MaxBm25Fields} fields; got {bm25.TextFields.Count}.");
        }
        if (bm25.TextFields.FirstOrDefault(f => f.Length is 0 or > 128) is { } bad)
        {
            throw RetrievalException.Invalid($"bm25.text_fields: a field name must have 1..128 characters; got \"{bad}\".");
        }
        if (bm25.TextFields.Distinct(StringComparer.Ordinal).Count() != bm25.TextFields.Count)
        {
            throw RetrievalException.Invalid("bm25.text_fields: a field is named twice.");
        }
        if (!float.IsFinite(bm25.K1) || bm25.K1 is < 0 or > 3)
        {
            throw RetrievalException.Invalid($"bm25.k1: must be in [0, 3] (0 for the default {DefaultBm25K1}); got {bm25.K1}.");
        }
        if (bm25.B is { } b && (!float.IsFinite(b) || b is < 0 or > 1))
        {
            throw RetrievalException.Invalid($"bm25.b: must be in [0, 1] (unset for the default {DefaultBm25B}); got {b}.");
        }
        return new Bm25Config([.. bm25.TextFields], bm25.K1 == 0 ? DefaultBm25K1 : bm25.K1, bm25.B ?? DefaultBm25B);
    }

    /// <summary>The USearch settings of a normalised definition, with <paramref name="concurrency"/> index threads.</summary>
    public UsearchIndexOptions IndexOptions(int concurrency) => new(
        (int)Dimensions,
        Metric switch
        {
            DistanceMetric.Cosine => UsearchNative.MetricKind.Cosine,
            DistanceMetric.InnerProduct => UsearchNative.MetricKind.InnerProduct,
            _ => UsearchNative.MetricKind.L2Squared,
        },
        Storage == VectorStorage.F32 ? UsearchNative.ScalarKind.F32 : UsearchNative.ScalarKind.F16,
        (int)Hnsw.M,
        (int)Hnsw.EfConstruction,
        (int)Hnsw.EfSearch,
        concurrency);

    /// <summary>USearch distances (lower is closer) as the contract's scores (higher is closer).</summary>
    public static float Score(DistanceMetric metric, float distance) => metric == DistanceMetric.L2 ? -distance : 1f - distance;

    private static uint Default(uint value, int fallback, int min, int max, string field)
    {
        if (value == 0)
        {
            return (uint)fallback;
        }
        if (value < min || value > max)
        {
            throw RetrievalException.Invalid($"{field}: must be in [{min}, {max}] (0 for the default {fallback}); got {value}.");
        }
        return value;
    }
}
