using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Mesh.Guard.Telemetry;

/// <summary>Guard's traces and metrics ("Mesh.Guard"; ServiceDefaults exports every Mesh.* source and meter).</summary>
public sealed class GuardTelemetry : IDisposable
{
    public const string Name = "Mesh.Guard";

    public static readonly ActivitySource ActivitySource = new(Name);

    private readonly Meter _meter;

    public GuardTelemetry(IMeterFactory meterFactory)
    {
        _meter = meterFactory.Create(Name);
        Checks = _meter.CreateCounter<long>("mesh.guard.checks", description: "Checks completed, by policy, stage and verdict.");
        Violations = _meter.CreateCounter<long>("mesh.guard.violations", description: "Violations found, by policy, rule and category.");
        CheckDuration = _meter.CreateHistogram<double>("mesh.guard.check.duration", unit: "ms", description: "Time to evaluate one check.");
        Reloads = _meter.CreateCounter<long>("mesh.guard.policy.reloads", description: "Policy file reloads, by outcome.");
    }

    public Counter<long> Checks { get; }

    public Counter<long> Violations { get; }

    public Histogram<double> CheckDuration { get; }

    public Counter<long> Reloads { get; }

    public void Dispose() => _meter.Dispose();
}
