using System.Collections.Concurrent;
using Microsoft.Extensions.Options;

namespace Mesh.Guard.Quality.Drift;

/// <summary>
/// Drift of every (model, tenant) series since start. Each exchange is recorded in its series; a
/// comparison that finds signals over their thresholds is logged as a structured warning
/// (<c>Drift alert</c> with model, tenant, signals and statistics) and counted in
/// <c>mesh.assistant.drift.alerts</c>. At most <see cref="DriftOptions.MaxSeries"/> series are kept.
/// </summary>
public sealed class DriftMonitor
{
    private readonly ConcurrentDictionary<(string Model, string Tenant), DriftSeriesState> _series = new();
    private readonly DriftOptions _options;
    private readonly QualityTelemetry telemetry;
    private readonly ILogger<DriftMonitor> logger;
    private int _refusedLogged;

    /// <summary>Creates the monitor and registers its gauges on <paramref name="telemetry"/>.</summary>
    public DriftMonitor(IOptions<QualityOptions> options, QualityTelemetry telemetry, ILogger<DriftMonitor> logger)
    {
        _options = options.Value.Drift;
        this.telemetry = telemetry;
        this.logger = logger;
        telemetry.ObserveDrift(() => Series);
    }

    /// <summary>Every series, ordered by model then tenant.</summary>
    public IReadOnlyList<DriftSeriesState> Series =>
        [.. _series.Values.OrderBy(s => s.Model, StringComparer.Ordinal).ThenBy(s => s.Tenant, StringComparer.Ordinal)];

    /// <summary>Records one exchange; returns the comparison it triggered, if any.</summary>
    public DriftEvaluation? Record(string model, string tenant, DriftSample sample)
    {
        if (!_options.Enabled)
        {
            return null;
        }

        if (!_series.TryGetValue((model, tenant), out var series))
        {
            if (_series.Count >= _options.MaxSeries)
            {
                if (Interlocked.Exchange(ref _refusedLogged, 1) == 0)
                {
                    logger.LogWarning("Drift: {MaxSeries} series tracked already (Guard:Quality:Drift:MaxSeries); {Model}/{Tenant} and later new series are not",
                        _options.MaxSeries, model, tenant);
                }

                return null;
            }

            series = _series.GetOrAdd((model, tenant), key => new DriftSeriesState(key.Model, key.Tenant, _options));
        }

        var evaluation = series.Record(sample);
        if (evaluation is { Alerts.Count: > 0 })
        {
            foreach (var signal in evaluation.Alerts)
            {
                telemetry.DriftAlert(model, tenant, signal);
            }

            logger.LogWarning(
                "Drift alert for model {Model} tenant {Tenant}: {Signals} (questions MMD² {QuestionsMmd2:F4} p={QuestionsP:F3}, question length PSI {QuestionPsi:F3}, block rate {BlockRate:F2} vs {ReferenceBlockRate:F2}) after {Observed} exchanges",
                model, tenant, string.Join(",", evaluation.Alerts), evaluation.Questions.Mmd2, evaluation.Questions.PValue,
                evaluation.QuestionLengthPsi, evaluation.BlockRate, evaluation.ReferenceBlockRate, evaluation.EvaluatedAt);
        }

        return evaluation;
    }
}
