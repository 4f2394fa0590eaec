namespace Mesh.ServiceDefaults.Hosting;

/// <summary>
/// Explicit histogram bucket boundaries for durations recorded in seconds, as OpenTelemetry's
/// semantic conventions ask (unit <c>s</c>, with explicit boundaries suited to seconds: without
/// them, the SDK's default boundaries 0, 5, 10, 25 … are meant for milliseconds and every call lands
/// in the first bucket). Pass as <c>new InstrumentAdvice&lt;double&gt; { HistogramBucketBoundaries = … }</c>.
/// </summary>
public static class HistogramBuckets
{
    /// <summary>
    /// The boundaries of the HTTP semantic conventions' <c>http.server.request.duration</c>
    /// (5 ms … 10 s), extended to 5 minutes for long generations and imports.
    /// </summary>
    public static readonly IReadOnlyList<double> DurationSeconds =
        [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 30, 60, 120, 300];
}
