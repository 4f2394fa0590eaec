using System.Diagnostics;
using System.Diagnostics.Metrics;
using Mesh.ServiceDefaults.Hosting;

namespace Mesh.Gateway.Observability;

/// <summary>
/// The gateway's own instruments, on the <c>Mesh.Gateway</c> meter that ServiceDefaults exports to
/// Prometheus. ASP.NET Core's http.server metrics cannot tell gRPC outcomes apart (every gRPC
/// response is HTTP 200), so calls are counted by route, method and gRPC status here.
/// </summary>
public sealed class GatewayMetrics
{
    /// <summary>The name of the gateway's meter.</summary>
    public const string MeterName = "Mesh.Gateway";

    private readonly Histogram<double> _callDuration;
    private readonly Counter<long> _rateLimited;
    private readonly Counter<long> _generatedTokens;

    /// <summary>Creates the gateway's instruments on the host's meter factory.</summary>
    public GatewayMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(MeterName);
        // Seconds, as OTel's semantic conventions ask, with boundaries for seconds: the SDK's default
        // boundaries (0, 5, 10, 25 …) are meant for milliseconds and would put every call in le=5.
        _callDuration = meter.CreateHistogram<double>("mesh.gateway.call.duration", "s",
            "Duration of gRPC calls through the gateway, by route, method and gRPC status.", tags: null,
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = HistogramBuckets.DurationSeconds });
        _rateLimited = meter.CreateCounter<long>("mesh.gateway.rate_limited", "{call}",
            "Calls refused by a per-key limit, by key and limit.");
        _generatedTokens = meter.CreateCounter<long>("mesh.gateway.generated_tokens", "{token}",
            "Tokens generated for calls through the gateway, by key.");
    }

    /// <summary>Records one call's duration by route, method and gRPC status.</summary>
    public void CallCompleted(string route, string method, string status, TimeSpan duration) =>
        _callDuration.Record(duration.TotalSeconds, new TagList
        {
            { "mesh.route", route },
            { "rpc.method", method },
            { "rpc.grpc.status", status },
        });

    /// <summary>Counts one refusal by key and limit.</summary>
    public void RateLimited(string key, string limit) =>
        _rateLimited.Add(1, new TagList { { "mesh.key", key }, { "mesh.limit", limit } });

    /// <summary>Counts tokens generated for a key.</summary>
    public void GeneratedTokens(string key, long tokens)
    {
        if (tokens > 0)
        {
            _generatedTokens.Add(tokens, new KeyValuePair<string, object?>("mesh.key", key));
        }
    }
}
