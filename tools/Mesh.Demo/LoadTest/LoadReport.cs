using System.Globalization;
using System.Text;
using System.Text.Json;
using Grpc.Core;

namespace Mesh.Demo.LoadTest;

/// <summary>
/// The summary ghz prints, from a run's calls: count, total time, slowest/fastest/average,
/// requests per second, the latency distribution (p10…p99.9, nearest rank) and the count of each
/// gRPC status. Latencies in milliseconds.
/// </summary>
public sealed record LoadReport(
    int Count,
    TimeSpan Total,
    double RequestsPerSecond,
    double FastestMs,
    double AverageMs,
    double SlowestMs,
    IReadOnlyDictionary<string, double> PercentilesMs,
    IReadOnlyDictionary<string, int> Statuses,
    IReadOnlyDictionary<string, int> Kinds)
{
    private static readonly (string Name, double P)[] Points =
        [("p10", 0.10), ("p25", 0.25), ("p50", 0.50), ("p75", 0.75), ("p90", 0.90), ("p95", 0.95), ("p99", 0.99), ("p99.9", 0.999)];

    /// <summary>Summarises calls; <paramref name="total"/> is the run's wall time.</summary>
    public static LoadReport From(IReadOnlyCollection<CallResult> calls, TimeSpan total)
    {
        var sorted = calls.Select(c => c.Latency.TotalMilliseconds).Order().ToArray();
        return new LoadReport(
            calls.Count,
            total,
            calls.Count / Math.Max(total.TotalSeconds, 1e-9),
            sorted.Length == 0 ? double.NaN : sorted[0],
            sorted.Length == 0 ? double.NaN : sorted.Average(),
            sorted.Length == 0 ? double.NaN : sorted[^1],
            Points.ToDictionary(p => p.Name, p => Percentile(sorted, p.P)),
            calls.GroupBy(c => Name(c.Status)).OrderBy(g => g.Key, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Count()),
            calls.GroupBy(c => c.Kind).OrderBy(g => g.Key, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Count()));
    }

    /// <summary>Nearest-rank percentile of ascending values (<paramref name="p"/> in 0..1); NaN when empty.</summary>
    public static double Percentile(IReadOnlyList<double> sorted, double p) =>
        sorted.Count == 0 ? double.NaN : sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Count) - 1, 0, sorted.Count - 1)];

    /// <summary>gRPC's canonical status name (OK, RESOURCE_EXHAUSTED, …), as ghz and grpcurl print it.</summary>
    public static string Name(StatusCode status) => status switch
    {
        StatusCode.OK => "OK",
        StatusCode.DeadlineExceeded => "DEADLINE_EXCEEDED",
        StatusCode.NotFound => "NOT_FOUND",
        StatusCode.AlreadyExists => "ALREADY_EXISTS",
        StatusCode.PermissionDenied => "PERMISSION_DENIED",
        StatusCode.ResourceExhausted => "RESOURCE_EXHAUSTED",
        StatusCode.FailedPrecondition => "FAILED_PRECONDITION",
        StatusCode.OutOfRange => "OUT_OF_RANGE",
        StatusCode.InvalidArgument => "INVALID_ARGUMENT",
        StatusCode.DataLoss => "DATA_LOSS",
        _ => status.ToString().ToUpperInvariant(),   // CANCELLED, UNKNOWN, ABORTED, UNIMPLEMENTED, INTERNAL, UNAVAILABLE, UNAUTHENTICATED
    };

    /// <summary>The report as ghz's text summary.</summary>
    public string ToText()
    {
        var s = new StringBuilder();
        var c = CultureInfo.InvariantCulture;
        s.AppendLine(c, $"Summary:\n  Count:\t{Count}\n  Total:\t{Total.TotalSeconds:F2} s\n  Slowest:\t{SlowestMs:F2} ms\n  Fastest:\t{FastestMs:F2} ms\n  Average:\t{AverageMs:F2} ms\n  Requests/sec:\t{RequestsPerSecond:F2}");
        s.AppendLine("\nLatency distribution:");
        foreach (var (name, value) in PercentilesMs)
        {
            s.AppendLine(c, $"  {name} in {value:F2} ms");
        }

        s.AppendLine("\nStatus code distribution:");
        foreach (var (name, n) in Statuses)
        {
            s.AppendLine(c, $"  [{name}]\t{n} responses");
        }

        if (Kinds.Count > 1)
        {
            s.AppendLine("\nCalls by kind:");
            foreach (var (name, n) in Kinds)
            {
                s.AppendLine(c, $"  {name}\t{n}");
            }
        }

        return s.ToString();
    }

    /// <summary>The report as one JSON line (for scripts).</summary>
    public string ToJson() => JsonSerializer.Serialize(new
    {
        count = Count,
        total_s = Total.TotalSeconds,
        rps = RequestsPerSecond,
        fastest_ms = FastestMs,
        average_ms = AverageMs,
        slowest_ms = SlowestMs,
        latency_ms = PercentilesMs,
        statuses = Statuses,
        kinds = Kinds,
    });
}
