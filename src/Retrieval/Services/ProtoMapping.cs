using Grpc.Core;
using Mesh.Retrieval.Collections;
using Mesh.Retrieval.Filtering;
using Mesh.Retrieval.V1;

namespace Mesh.Retrieval.Services;

/// <summary>
/// The one place internal types become contract messages (collections, write results, hits, points), so
/// the storage and search code below Services/ never builds a response.
/// </summary>
internal static class ProtoMapping
{
    public static CollectionInfo ToInfo(Collection collection)
    {
        var info = new CollectionInfo { PointsCount = (ulong)collection.Count, DiskSizeBytes = (ulong)collection.DiskSizeBytes };
        CollectionConfigMapping.FillInfo(info, collection.Config);
        return info;
    }

    /// <summary>
    /// The contract's filter as a <see cref="FilterExpression"/>; a condition or value that sets none of its
    /// cases is INVALID_ARGUMENT. Limits and declared fields are checked when the collection compiles it.
    /// </summary>
    public static FilterExpression ToFilter(Filter filter) => new BooleanExpression(
        [.. filter.Must.Select(ToExpression)], [.. filter.Should.Select(ToExpression)], [.. filter.MustNot.Select(ToExpression)]);

    private static FilterExpression ToExpression(Condition condition) => condition.ConditionCase switch
    {
        Condition.ConditionOneofCase.Filter => ToFilter(condition.Filter),
        Condition.ConditionOneofCase.Field => condition.Field.TestCase switch
        {
            FieldCondition.TestOneofCase.Match => new MatchExpression(condition.Field.Key, [ToKeyword(condition.Field.Match)], "match"),
            FieldCondition.TestOneofCase.MatchAny => new MatchExpression(condition.Field.Key, [.. condition.Field.MatchAny.Values.Select(ToKeyword)], "match_any"),
            FieldCondition.TestOneofCase.Range => new RangeExpression(condition.Field.Key,
                condition.Field.Range.HasGt ? condition.Field.Range.Gt : null, condition.Field.Range.HasGte ? condition.Field.Range.Gte : null,
                condition.Field.Range.HasLt ? condition.Field.Range.Lt : null, condition.Field.Range.HasLte ? condition.Field.Range.Lte : null),
            _ => throw RetrievalException.Invalid($"filter: the condition on \"{condition.Field.Key}\" must set match, match_any or range."),
        },
        _ => throw RetrievalException.Invalid("filter: a condition must set field or filter."),
    };

    private static string ToKeyword(MatchValue value) => value.ValueCase switch
    {
        MatchValue.ValueOneofCase.Keyword => PayloadSchema.Keyword(value.Keyword),
        MatchValue.ValueOneofCase.Integer => PayloadSchema.Keyword(value.Integer),
        MatchValue.ValueOneofCase.Boolean => PayloadSchema.Keyword(value.Boolean),
        _ => throw RetrievalException.Invalid("filter: a match value must set keyword, integer or boolean."),
    };

    public static UpdateResponse ToResponse(WriteResult result) => new() { OperationId = result.OperationId, Count = (ulong)result.Count };

    public static ScoredPoint ToScoredPoint(SearchHit hit, bool withPayload, bool withVector)
    {
        var scored = new ScoredPoint { Id = hit.Point.Id.ToPointId(), Score = hit.Score };
        if (withPayload)
        {
            scored.Payload = hit.Point.Payload;
        }
        if (withVector)
        {
            scored.Vector = new Vector { Values = { hit.Point.Vector } };
        }
        return scored;
    }

    public static RetrievedPoint ToRetrievedPoint(PointRecord point, bool withPayload, bool withVector)
    {
        var retrieved = new RetrievedPoint { Id = point.Id.ToPointId() };
        if (withPayload)
        {
            retrieved.Payload = point.Payload;
        }
        if (withVector)
        {
            retrieved.Vector = new Vector { Values = { point.Vector } };
        }
        return retrieved;
    }
}

/// <summary>
/// Counts the serialized bytes of a response as it is built and refuses it (RESOURCE_EXHAUSTED) past
/// <see cref="RetrievalOptions.MaxResponseBytes"/>: limits on hits alone do not bound a response whose hits
/// carry 4096-dimension vectors and 64 KiB payloads.
/// </summary>
internal sealed class ResponseBudget(int maxBytes)
{
    private long _bytes;

    public void Add(int bytes, string what)
    {
        _bytes += bytes;
        if (_bytes > maxBytes)
        {
            throw new RetrievalException(StatusCode.ResourceExhausted,
                $"The response would exceed {maxBytes} bytes at {what}; ask for fewer points (limit, ids, searches) or leave out with_vector / with_payload.");
        }
    }
}
