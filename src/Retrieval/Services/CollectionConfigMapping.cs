using Mesh.Retrieval.Collections;
using Mesh.Retrieval.Filtering;
using Mesh.Retrieval.V1;

namespace Mesh.Retrieval.Services;

/// <summary>
/// The one mapping between a collection's internal <see cref="CollectionConfig"/> and the contract's
/// <see cref="CreateCollectionRequest"/> (and the definition part of <see cref="CollectionInfo"/>). Enum
/// values map by number, so one the contract does not name reaches <see cref="CollectionConfig.Normalize"/>
/// unchanged and is refused there with the message it always had. The definition file stores a
/// <see cref="CreateCollectionRequest"/> (its byte format since the first release), so
/// <c>Storage/CollectionDefinitionFile</c> goes through this mapping too.
/// </summary>
internal static class CollectionConfigMapping
{
    /// <summary>A request as a draft definition: nothing checked, unset values kept as 0 / null.</summary>
    public static CollectionConfig ToConfig(CreateCollectionRequest request) => new(
        request.Name,
        request.Dimensions,
        (DistanceMetric)request.Metric,
        request.Hnsw is { } hnsw ? new HnswConfig(hnsw.M, hnsw.EfConstruction, hnsw.EfSearch) : new HnswConfig(0, 0, 0),
        request.Embedder,
        [.. request.PayloadIndexes.Select(p => new PayloadIndexSpec(p.Field, (PayloadFieldKind)p.Kind))],
        (VectorStorage)request.Storage,
        request.Bm25 is { } bm25 ? new Bm25Config([.. bm25.TextFields], bm25.K1, bm25.HasB ? bm25.B : null) : null);

    /// <summary>A definition as the contract's request (as the definition file stores it).</summary>
    public static CreateCollectionRequest ToRequest(CollectionConfig config) => new()
    {
        Name = config.Name,
        Dimensions = config.Dimensions,
        Metric = (Metric)config.Metric,
        Hnsw = ToHnsw(config.Hnsw),
        Embedder = config.Embedder,
        PayloadIndexes = { config.PayloadIndexes.Select(ToPayloadIndex) },
        Storage = (V1.Storage)config.Storage,
        Bm25 = ToBm25(config.Bm25),
    };

    /// <summary>The effective parameters of a normalised definition, as <see cref="CollectionInfo"/> reports them.</summary>
    public static void FillInfo(CollectionInfo info, CollectionConfig config)
    {
        info.Name = config.Name;
        info.Dimensions = config.Dimensions;
        info.Metric = (Metric)config.Metric;
        info.Hnsw = ToHnsw(config.Hnsw);
        info.Embedder = config.Embedder;
        info.PayloadIndexes.Add(config.PayloadIndexes.Select(ToPayloadIndex));
        info.Storage = (V1.Storage)config.Storage;
        info.Bm25 = ToBm25(config.Bm25);
    }

    private static HnswParams ToHnsw(HnswConfig hnsw) => new() { M = hnsw.M, EfConstruction = hnsw.EfConstruction, EfSearch = hnsw.EfSearch };

    private static V1.PayloadIndex ToPayloadIndex(PayloadIndexSpec spec) => new() { Field = spec.Field, Kind = (PayloadIndexKind)spec.Kind };

    private static Bm25Params? ToBm25(Bm25Config? bm25)
    {
        if (bm25 is null)
        {
            return null;
        }
        var result = new Bm25Params { TextFields = { bm25.TextFields }, K1 = bm25.K1 };
        if (bm25.B is { } b)
        {
            result.B = b;
        }
        return result;
    }
}
