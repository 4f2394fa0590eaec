using System.Diagnostics;
using System.Diagnostics.Metrics;
using Mesh.ServiceDefaults.Hosting;

namespace Mesh.Guard.Telemetry;

/// <summary>Guard's traces and metrics ("Mesh.Guard"; ServiceDefaults exports every Mesh.* source and meter).</summary>
public sealed class GuardTelemetry : IDisposable
{
    /// <summary>Name of the activity source and the meter.</summary>
    public const string Name = "Mesh.Guard";

    /// <summary>Guard's traces: one span per check.</summary>
    public static readonly ActivitySource ActivitySource = new(Name);

    private readonly Meter _meter;

    /// <summary>Creates the instruments on a meter from <paramref name="meterFactory"/>.</summary>
    public GuardTelemetry(IMeterFactory meterFactory)
    {
        _meter = meterFactory.Create(Name);
        Checks = _meter.CreateCounter<long>("mesh.guard.checks", description: "Checks completed, by policy, stage and verdict.");
        Violations = _meter.CreateCounter<long>("mesh.guard.violations", description: "Violations found, by policy, rule and category.");
        // Seconds with explicit boundaries, as OTel's conventions ask (the SDK's defaults are meant for milliseconds).
        CheckDuration = _meter.CreateHistogram<double>("mesh.guard.check.duration", "s", "Time to evaluate one check.", tags: null,
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = HistogramBuckets.DurationSeconds });
        Reloads = _meter.CreateCounter<long>("mesh.guard.policy.reloads", description: "Policy file reloads, by outcome.");
    }

    /// <summary><c>mesh.guard.checks</c>: checks completed, by policy, stage and verdict.</summary>
    public Counter<long> Checks { get; }

    /// <summary><c>mesh.guard.violations</c>: violations found, by policy, rule and category.</summary>
    public Counter<long> Violations { get; }

    /// <summary><c>mesh.guard.check.duration</c>: time to evaluate one check, in seconds.</summary>
    public Histogram<double> CheckDuration { get; }

    /// <summary><c>mesh.guard.policy.reloads</c>: policy file reloads, by outcome.</summary>
    public Counter<long> Reloads { get; }

    /// <summary>Disposes the meter.</summary>
    public void Dispose() => _meter.Dispose();
}
