namespace Mesh.Retrieval.Filtering;

/// <summary>
/// What conditions a declared payload field answers. The numbers are the contract's
/// <c>PayloadIndexKind</c>, so a value the contract does not know maps through unchanged and is refused by
/// <see cref="PayloadSchema.Validate"/>.
/// </summary>
internal enum PayloadFieldKind
{
    /// <summary>Not declared; refused at collection creation.</summary>
    Unspecified = 0,

    /// <summary>Exact match on strings, booleans and integral numbers.</summary>
    Keyword = 1,

    /// <summary>Numbers, for range conditions.</summary>
    Numeric = 2,
}

/// <summary>A payload field a collection indexes (Qdrant's payload index schema entry).</summary>
/// <param name="Field">The payload key, 1..128 characters; dots name nested keys ("product.brand").</param>
/// <param name="Kind">What conditions the field answers.</param>
internal sealed record PayloadIndexSpec(string Field, PayloadFieldKind Kind);
