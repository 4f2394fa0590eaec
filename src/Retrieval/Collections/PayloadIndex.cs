using Google.Protobuf.WellKnownTypes;
using Mesh.Retrieval.Filtering;

namespace Mesh.Retrieval.Collections;

/// <summary>
/// The payload side of a segment, as Qdrant's payload index: the declared fields (<see cref="PayloadSchema"/>),
/// the values of those fields extracted once per point, and the keyword postings the planner bounds filters
/// with. Writers are serialised by the owning <see cref="Segment"/>; readers run concurrently.
/// </summary>
internal sealed class PayloadIndex(IReadOnlyList<PayloadIndexSpec> declared)
{
    /// <summary>The declared index fields.</summary>
    public PayloadSchema Schema { get; } = new(declared);

    /// <summary>The inverted index of the keyword fields.</summary>
    public KeywordPostings Postings { get; } = new(declared.Count);

    /// <summary>The declared fields' values of a payload, for filters evaluated inside the graph walk.</summary>
    public IndexedValues Extract(Struct payload) => Schema.Extract(payload);

    public void Add(PointRecord point) => Postings.Add(point);

    public void Remove(PointRecord point) => Postings.Remove(point);

    /// <summary>Validates a filter against the declared fields; INVALID_ARGUMENT names what is wrong.</summary>
    public CompiledFilter Compile(FilterExpression filter) => CompiledFilter.Compile(filter, Schema);
}
