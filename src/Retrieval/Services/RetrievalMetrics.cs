using System.Diagnostics.Metrics;

namespace Mesh.Retrieval.Services;

/// <summary>The service's meters (exported by ServiceDefaults: every <c>Mesh.*</c> meter is collected).</summary>
internal sealed class RetrievalMetrics
{
    public const string MeterName = "Mesh.Retrieval";

    /// <summary>Bucket upper bounds of <c>mesh.retrieval.search.duration</c>, in seconds.</summary>
    public static readonly double[] SearchBuckets =
        [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

    private readonly Histogram<double> _searchSeconds;
    private readonly Counter<long> _pointsWritten;

    public RetrievalMetrics(IMeterFactory meters)
    {
        var meter = meters.Create(MeterName);
        // OTel semantic conventions: durations in seconds. The SDK's default buckets (0, 5, 10, 25 … 10000)
        // assume milliseconds and would put every search in the first bucket, so name buckets for searches
        // that take from tens of microseconds (filtered, exact) to seconds (huge ef on a loaded host).
        _searchSeconds = meter.CreateHistogram<double>("mesh.retrieval.search.duration", "s", "Server time of one search.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = SearchBuckets });
        _pointsWritten = meter.CreateCounter<long>("mesh.retrieval.points.written", "{point}", "Points made durable by upserts and imports.");
    }

    public void SearchCompleted(TimeSpan elapsed, bool filtered) =>
        _searchSeconds.Record(elapsed.TotalSeconds, new KeyValuePair<string, object?>("filtered", filtered));

    public void PointsWritten(int count) => _pointsWritten.Add(count);
}
