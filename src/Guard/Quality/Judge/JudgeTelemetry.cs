using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Mesh.Guard.Quality.Judge;

/// <summary>
/// Metrics of the judge on the <c>Mesh.Guard.Judge</c> meter (exported by ServiceDefaults like every
/// Mesh.* meter): <c>mesh.guard.judge.score</c> (histogram, unit <c>1</c>, buckets 1..5, by
/// <c>gen_ai.request.model</c> — the graded model — <c>mesh.judge.model</c> and <c>mesh.tenant</c>)
/// and <c>mesh.guard.judge.duration</c> (histogram, seconds, by <c>mesh.judge.model</c> and
/// <c>error.type</c>: the gRPC status name of a failed call, absent on success).
/// </summary>
public sealed class JudgeTelemetry : IDisposable
{
    /// <summary>Name of the meter.</summary>
    public const string Name = "Mesh.Guard.Judge";

    private static readonly double[] ScoreBuckets = [1, 2, 3, 4, 5];
    private static readonly double[] SecondBuckets = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];

    private readonly Meter _meter;
    private readonly Histogram<double> _score;
    private readonly Histogram<double> _duration;

    /// <summary>Creates the instruments on a meter from <paramref name="meterFactory"/>.</summary>
    public JudgeTelemetry(IMeterFactory meterFactory)
    {
        _meter = meterFactory.Create(Name);
        _score = _meter.CreateHistogram<double>("mesh.guard.judge.score", "1",
            "Judge model grades of answers, 1 (worst) to 5 (best), per graded model.", tags: null,
            new InstrumentAdvice<double> { HistogramBucketBoundaries = ScoreBuckets });
        _duration = _meter.CreateHistogram<double>("mesh.guard.judge.duration", "s",
            "Time of one judge call to Inference.", tags: null,
            new InstrumentAdvice<double> { HistogramBucketBoundaries = SecondBuckets });
    }

    /// <summary>Records one grade of <paramref name="model"/>'s answer by <paramref name="judgeModel"/>.</summary>
    public void Scored(string model, string judgeModel, string tenant, int score) =>
        _score.Record(score, new TagList { { "gen_ai.request.model", model }, { "mesh.judge.model", judgeModel }, { "mesh.tenant", tenant } });

    /// <summary>Records one judge call's duration; <paramref name="error"/> is the status of a failed call.</summary>
    public void Called(string judgeModel, TimeSpan elapsed, string? error)
    {
        var tags = new TagList { { "mesh.judge.model", judgeModel } };
        if (error is not null)
        {
            tags.Add("error.type", error);
        }

        _duration.Record(elapsed.TotalSeconds, tags);
    }

    /// <summary>Disposes the meter.</summary>
    public void Dispose() => _meter.Dispose();
}
