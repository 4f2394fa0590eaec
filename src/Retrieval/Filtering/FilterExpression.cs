namespace Mesh.Retrieval.Filtering;

/// <summary>
/// A payload filter as the collection sees it, free of transport types (the contract's <c>Filter</c> is mapped
/// to it in <c>Services/ProtoMapping</c>). Semantics as Qdrant's: a point matches a <see cref="BooleanExpression"/>
/// when every <c>Must</c> holds, at least one <c>Should</c> holds (when there are any) and no <c>MustNot</c> holds;
/// a field condition on a list holds when any element does. <see cref="CompiledFilter"/> checks the limits
/// (depth, condition count) and the declared fields.
/// </summary>
internal abstract record FilterExpression;

/// <summary>must / should / must_not over nested expressions.</summary>
internal sealed record BooleanExpression(IReadOnlyList<FilterExpression> Must, IReadOnlyList<FilterExpression> Should, IReadOnlyList<FilterExpression> MustNot) : FilterExpression;

/// <summary>
/// Keyword equality with one value (<paramref name="Condition"/> "match") or any of several ("match_any").
/// <paramref name="Keywords"/> are tagged as <see cref="PayloadSchema"/> stores them (<see cref="PayloadSchema.Keyword(string)"/>).
/// </summary>
internal sealed record MatchExpression(string Key, IReadOnlyList<string> Keywords, string Condition) : FilterExpression;

/// <summary>A numeric range; unset bounds are open.</summary>
internal sealed record RangeExpression(string Key, double? Gt, double? Gte, double? Lt, double? Lte) : FilterExpression;
