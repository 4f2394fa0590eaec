namespace Mesh.Retrieval.Native;

/// <summary>How a <see cref="UsearchIndex"/> is built.</summary>
internal sealed record UsearchIndexOptions(
    int Dimensions,
    UsearchNative.MetricKind Metric,
    UsearchNative.ScalarKind Storage,
    int Connectivity,
    int ExpansionAdd,
    int ExpansionSearch,
    int Concurrency);
