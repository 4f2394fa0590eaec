namespace Mesh.Retrieval.Filtering;

/// <summary>A point's values of the declared index fields, by field position in the <see cref="PayloadSchema"/>.</summary>
internal sealed class IndexedValues(string[][] keywords, double[][] numbers)
{
    /// <summary>Tagged keyword values per keyword field (null for numeric fields).</summary>
    public string[][] Keywords { get; } = keywords;

    /// <summary>Finite numbers per numeric field (null for keyword fields).</summary>
    public double[][] Numbers { get; } = numbers;
}
