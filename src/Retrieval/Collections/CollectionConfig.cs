using Mesh.Retrieval.Embedding;
using Mesh.Retrieval.Filtering;
using Mesh.Retrieval.Native;
using Mesh.Retrieval.V1;

namespace Mesh.Retrieval.Collections;

/// <summary>Validation and defaults of a collection definition, and its mapping to USearch settings.</summary>
internal static class CollectionConfig
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

    /// <summary>Checks a request and returns it with every default filled in.</summary>
    public static CreateCollectionRequest Normalize(CreateCollectionRequest request, IReadOnlyDictionary<string, ITextEmbedder> embedders)
    {
        ValidateName(request.Name);
        var config = request.Clone();
        if (config.Embedder.Length > 0)
        {
            if (!embedders.TryGetValue(config.Embedder, out var embedder))
            {
                throw RetrievalException.Invalid($"embedder: unknown embedder \"{config.Embedder}\"; use \"\" or one of: {string.Join(", ", embedders.Keys)}.");
            }
            if (config.Dimensions == 0)
            {
                config.Dimensions = (uint)embedder.Dimensions;
            }
            else if (config.Dimensions != embedder.Dimensions)
            {
                throw RetrievalException.Invalid($"dimensions: the embedder {embedder.Name} produces {embedder.Dimensions} dimensions; got {config.Dimensions} (set 0 or {embedder.Dimensions}).");
            }
        }
        if (config.Dimensions is 0 or > MaxDimensions)
        {
            throw RetrievalException.Invalid($"dimensions: must be in [1, {MaxDimensions}]; got {config.Dimensions}.");
        }
        if (config.Metric is not (Metric.Cosine or Metric.L2 or Metric.InnerProduct))
        {
            throw RetrievalException.Invalid("metric: set METRIC_COSINE, METRIC_L2 or METRIC_INNER_PRODUCT.");
        }
        config.Hnsw ??= new HnswParams();
        config.Hnsw.M = Default(config.Hnsw.M, DefaultM, 4, 128, "hnsw.m");
        config.Hnsw.EfConstruction = Default(config.Hnsw.EfConstruction, DefaultEfConstruction, 8, MaxEf, "hnsw.ef_construction");
        config.Hnsw.EfSearch = Default(config.Hnsw.EfSearch, DefaultEfSearch, 8, MaxEf, "hnsw.ef_search");
        if (config.Storage == V1.Storage.Unspecified)
        {
            config.Storage = V1.Storage.F16;
        }
        else if (config.Storage is not (V1.Storage.F16 or V1.Storage.F32))
        {
            throw RetrievalException.Invalid("storage: set STORAGE_F16 or STORAGE_F32.");
        }
        PayloadSchema.Validate(config.PayloadIndexes);
        if (config.Bm25 is { } bm25)
        {
            NormalizeBm25(bm25);
        }
        return config;
    }

    /// <summary>BM25 defaults (Robertson's k1 = 1.2, b = 0.75) and bounds.</summary>
    private static void NormalizeBm25(Bm25Params bm25)
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
        if (bm25.K1 == 0)
        {
            bm25.K1 = DefaultBm25K1;
        }
        if (!bm25.HasB)
        {
            bm25.B = DefaultBm25B;
        }
        else if (!float.IsFinite(bm25.B) || bm25.B is < 0 or > 1)
        {
            throw RetrievalException.Invalid($"bm25.b: must be in [0, 1] (unset for the default {DefaultBm25B}); got {bm25.B}.");
        }
    }

    public static UsearchIndexOptions IndexOptions(CreateCollectionRequest config, int concurrency) => new(
        (int)config.Dimensions,
        config.Metric switch
        {
            Metric.Cosine => UsearchNative.MetricKind.Cosine,
            Metric.InnerProduct => UsearchNative.MetricKind.InnerProduct,
            _ => UsearchNative.MetricKind.L2Squared,
        },
        config.Storage == V1.Storage.F32 ? UsearchNative.ScalarKind.F32 : UsearchNative.ScalarKind.F16,
        (int)config.Hnsw.M,
        (int)config.Hnsw.EfConstruction,
        (int)config.Hnsw.EfSearch,
        concurrency);

    /// <summary>USearch distances (lower is closer) as the contract's scores (higher is closer).</summary>
    public static float Score(Metric metric, float distance) => metric == Metric.L2 ? -distance : 1f - distance;

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
