using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Mesh.Retrieval.Collections;
using Mesh.Retrieval.Embedding;
using Mesh.Retrieval.V1;

namespace Mesh.Retrieval.Services;

/// <summary>
/// Checks of points and queries against a collection, with messages that name the offending field and
/// say what to fix. Texts are embedded here, so a collection only ever sees finished vectors.
/// </summary>
internal static class RequestValidation
{
    public const int MaxTextLength = 8192;
    public const int MaxLimit = 1000;

    public static List<(PointKey Id, float[] Vector, Struct Payload, string Text)> Points(
        Collection collection, IReadOnlyList<PointStruct> points, RetrievalOptions options, CollectionManager manager, CancellationToken cancellationToken)
    {
        if (points.Count == 0)
        {
            throw RetrievalException.Invalid("points: the batch is empty; send 1 or more points.");
        }
        if (points.Count > options.MaxPointsPerRequest)
        {
            throw new RetrievalException(StatusCode.ResourceExhausted, $"points: {points.Count} points in one request; the limit is {options.MaxPointsPerRequest}, split the batch.");
        }
        var ids = new HashSet<PointKey>();
        var result = new (PointKey Id, float[] Vector, Struct Payload, string Text)[points.Count];
        var texts = new List<(int Index, string Text)>();
        for (var i = 0; i < points.Count; i++)
        {
            var point = points[i];
            var id = PointKey.From(point.Id);
            if (!ids.Add(id))
            {
                throw RetrievalException.Invalid($"points[{i}].id: id {id} appears twice in the request; each id at most once.");
            }
            var payload = point.Payload ?? new Struct();
            var size = payload.CalculateSize();
            if (size > options.MaxPayloadBytes)
            {
                throw new RetrievalException(StatusCode.ResourceExhausted, $"points[{i}].payload: {size} bytes serialized; the limit is {options.MaxPayloadBytes}.");
            }
            switch (point.InputCase)
            {
                case PointStruct.InputOneofCase.Vector:
                    result[i] = (id, Vector(collection, point.Vector, $"points[{i}].vector (id {id})"), payload, "");
                    break;
                case PointStruct.InputOneofCase.Text:
                    Text(collection, point.Text, $"points[{i}].text");
                    texts.Add((i, point.Text));
                    result[i] = (id, [], payload, point.Text);
                    break;
                default:
                    throw RetrievalException.Invalid($"points[{i}]: set vector or text.");
            }
        }
        if (texts.Count > 0)
        {
            var vectors = manager.Embedders[collection.Config.Embedder].Embed([.. texts.Select(t => t.Text)], cancellationToken);
            for (var j = 0; j < texts.Count; j++)
            {
                result[texts[j].Index].Vector = vectors[j];
            }
        }
        return [.. result];
    }

    /// <summary>A validated search: mode, the query vector and/or text it needs, the compiled filter and the parameters.</summary>
    public static SearchQuery Search(Collection collection, SearchRequest request, CollectionManager manager, CancellationToken cancellationToken, string field = "")
    {
        var mode = request.Mode switch
        {
            // Unspecified: the collection's best. One with a BM25 index answers a text (or a vector with
            // sparse_text) by hybrid search, so a SKU or product name in the question is found; others dense.
            SearchMode.Unspecified when collection.HasSparseIndex
                && (request.QueryCase == SearchRequest.QueryOneofCase.Text || request.SparseText.Length > 0) => QueryMode.Hybrid,
            SearchMode.Unspecified or SearchMode.Dense => QueryMode.Dense,
            SearchMode.Sparse => QueryMode.Sparse,
            SearchMode.Hybrid => QueryMode.Hybrid,
            _ => throw RetrievalException.Invalid($"{field}mode: set SEARCH_MODE_DENSE, SEARCH_MODE_SPARSE or SEARCH_MODE_HYBRID; got {request.Mode}."),
        };
        string? text = null;
        if (mode != QueryMode.Dense)
        {
            if (!collection.HasSparseIndex)
            {
                throw new RetrievalException(StatusCode.FailedPrecondition,
                    $"{field}mode: collection \"{collection.Name}\" has no BM25 index; create it with bm25 set, or search with SEARCH_MODE_DENSE.");
            }
            text = request.QueryCase == SearchRequest.QueryOneofCase.Text ? request.Text : request.SparseText;
            if (request.QueryCase == SearchRequest.QueryOneofCase.Text && request.SparseText.Length > 0)
            {
                throw RetrievalException.Invalid($"{field}sparse_text: the query is a text, which the BM25 side searches for; leave sparse_text empty.");
            }
            if (text.Length is 0 or > MaxTextLength)
            {
                throw RetrievalException.Invalid($"{field}{(request.QueryCase == SearchRequest.QueryOneofCase.Text ? "text" : "sparse_text")}: a {request.Mode} search needs a text of 1..{MaxTextLength} characters for BM25; got {text.Length}.");
            }
        }
        else if (request.SparseText.Length > 0)
        {
            throw RetrievalException.Invalid($"{field}sparse_text: only sparse and hybrid searches read it; set mode or leave it empty.");
        }
        // A sparse search embeds nothing: it works on collections without an embedder too.
        float[]? vector = null;
        if (mode == QueryMode.Sparse)
        {
            CheckLimits(request, field);
        }
        else
        {
            vector = Query(collection, request, manager, cancellationToken, field);
        }
        return new SearchQuery(mode, vector, text, (int)request.Limit, request.Filter is null ? null : collection.CompileFilter(ProtoMapping.ToFilter(request.Filter)),
            (int)(request.Params?.Ef ?? 0), request.Params?.Exact ?? false, request.HasScoreThreshold ? request.ScoreThreshold : null);
    }

    private static void CheckLimits(SearchRequest request, string field)
    {
        if (request.Limit is 0 or > MaxLimit)
        {
            throw RetrievalException.Invalid($"{field}limit: must be in [1, {MaxLimit}]; got {request.Limit}.");
        }
        if (request.Params is { Ef: > CollectionConfig.MaxEf })
        {
            throw RetrievalException.Invalid($"{field}params.ef: must be at most {CollectionConfig.MaxEf} (0 for the collection default); got {request.Params.Ef}.");
        }
        if (request.HasScoreThreshold && !float.IsFinite(request.ScoreThreshold))
        {
            throw RetrievalException.Invalid($"{field}score_threshold: must be finite.");
        }
    }

    private static float[] Query(Collection collection, SearchRequest request, CollectionManager manager, CancellationToken cancellationToken, string field)
    {
        CheckLimits(request, field);
        switch (request.QueryCase)
        {
            case SearchRequest.QueryOneofCase.Vector:
                return Vector(collection, request.Vector, field + "vector");
            case SearchRequest.QueryOneofCase.Text:
                Text(collection, request.Text, field + "text");
                return manager.Embedders[collection.Config.Embedder].Embed([request.Text], cancellationToken)[0];
            default:
                throw RetrievalException.Invalid($"{field}query: set vector or text.");
        }
    }

    /// <summary>Most texts one Embed call takes.</summary>
    public const int MaxEmbedTexts = 256;

    /// <summary>The embedder an Embed request names ("" is all-MiniLM-L6-v2), after checking its texts.</summary>
    public static ITextEmbedder Embedder(EmbedRequest request, IReadOnlyDictionary<string, ITextEmbedder> embedders)
    {
        var model = request.Model.Length == 0 ? MiniLmTextEmbedder.ModelName : request.Model;
        if (!embedders.TryGetValue(model, out var embedder))
        {
            throw RetrievalException.Invalid($"model: unknown embedder \"{model}\"; use one of: {string.Join(", ", embedders.Keys)}.");
        }
        if (request.Texts.Count is 0 or > MaxEmbedTexts)
        {
            throw RetrievalException.Invalid($"texts: send 1..{MaxEmbedTexts} texts per call; got {request.Texts.Count}. Split larger inputs into several calls.");
        }
        for (var i = 0; i < request.Texts.Count; i++)
        {
            if (request.Texts[i].Length is 0 or > MaxTextLength)
            {
                throw RetrievalException.Invalid($"texts[{i}]: a text must have 1..{MaxTextLength} characters; got {request.Texts[i].Length}.");
            }
        }
        return embedder;
    }

    public static List<PointKey> Ids(IReadOnlyList<PointId> ids, RetrievalOptions options, string field)
    {
        if (ids.Count == 0)
        {
            throw RetrievalException.Invalid($"{field}: no ids; send 1 or more.");
        }
        if (ids.Count > options.MaxPointsPerRequest)
        {
            throw new RetrievalException(StatusCode.ResourceExhausted, $"{field}: {ids.Count} ids in one request; the limit is {options.MaxPointsPerRequest}.");
        }
        return [.. ids.Select(PointKey.From)];
    }

    private static float[] Vector(Collection collection, V1.Vector? vector, string field)
    {
        var values = vector?.Values;
        if (values is null || values.Count != collection.Dimensions)
        {
            throw RetrievalException.Invalid($"{field}: {values?.Count ?? 0} components; collection \"{collection.Name}\" has {collection.Dimensions} dimensions.");
        }
        var result = values.ToArray();
        // One rule for what the index can hold, shared with recovery (VectorIndex.Refusal).
        if (VectorIndex.Refusal(result, collection.Config.Metric, collection.Config.Storage) is { } refusal)
        {
            throw RetrievalException.Invalid($"{field}: {refusal}");
        }
        return result;
    }

    private static void Text(Collection collection, string text, string field)
    {
        if (collection.Config.Embedder.Length == 0)
        {
            throw new RetrievalException(StatusCode.FailedPrecondition, $"{field}: collection \"{collection.Name}\" has no embedder; send a vector, or create the collection with embedder \"all-MiniLM-L6-v2\".");
        }
        if (text.Length is 0 or > MaxTextLength)
        {
            throw RetrievalException.Invalid($"{field}: a text must have 1..{MaxTextLength} characters; got {text.Length}.");
        }
    }
}
