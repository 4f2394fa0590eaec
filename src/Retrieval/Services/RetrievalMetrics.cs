using System.Diagnostics.Metrics;

namespace Mesh.Retrieval.Services;

/// <summary>The service's meters (exported by ServiceDefaults: every <c>Mesh.*</c> meter is collected).</summary>
internal sealed class RetrievalMetrics
{
    public const string MeterName = "Mesh.Retrieval";

    private readonly Histogram<double> _searchSeconds;
    private readonly Counter<long> _pointsWritten;

    public RetrievalMetrics(IMeterFactory meters)
    {
        var meter = meters.Create(MeterName);
        _searchSeconds = meter.CreateHistogram<double>("mesh.retrieval.search.duration", "s", "Server time of one search.");
        _pointsWritten = meter.CreateCounter<long>("mesh.retrieval.points.written", "{point}", "Points made durable by upserts and imports.");
    }

    public void SearchCompleted(TimeSpan elapsed, bool filtered) =>
        _searchSeconds.Record(elapsed.TotalSeconds, new KeyValuePair<string, object?>("filtered", filtered));

    public void PointsWritten(int count) => _pointsWritten.Add(count);
}
