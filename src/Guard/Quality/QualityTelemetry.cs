using System.Diagnostics;
using System.Diagnostics.Metrics;
using Mesh.Guard.Quality.Drift;

namespace Mesh.Guard.Quality;

/// <summary>
/// Metrics of answer quality and drift on the <c>Mesh.Guard.Quality</c> meter (exported by
/// ServiceDefaults like every Mesh.* meter). Every instrument carries <c>gen_ai.request.model</c> and
/// <c>mesh.tenant</c>. Scores are ratios or cosines, unit <c>1</c>:
/// <c>mesh.assistant.groundedness</c>, <c>mesh.assistant.answer_relevance</c>,
/// <c>mesh.assistant.citation_validity</c> (histograms, buckets of 0.1 over [-1, 1]);
/// <c>mesh.assistant.answers</c> counts scored exchanges by <c>mesh.assistant.outcome</c> and
/// <c>mesh.assistant.format_valid</c>; <c>mesh.assistant.unsupported_sentences</c> counts sentences.
/// Drift gauges (latest comparison per series): <c>mesh.assistant.drift.mmd2</c> and
/// <c>mesh.assistant.drift.p_value</c> by <c>mesh.drift.stream</c> (questions, answers),
/// <c>mesh.assistant.drift.psi</c> by stream, <c>mesh.assistant.drift.rate</c> by <c>mesh.drift.rate</c>
/// (block, redact) and <c>mesh.drift.window</c> (reference, current); counter
/// <c>mesh.assistant.drift.alerts</c> by <c>mesh.drift.signal</c>.
/// </summary>
public sealed class QualityTelemetry : IDisposable
{
    /// <summary>Name of the meter and the activity source.</summary>
    public const string Name = "Mesh.Guard.Quality";

    /// <summary>The quality service's spans (<c>quality.score_answer</c>).</summary>
    public static readonly ActivitySource ActivitySource = new(Name);

    private static readonly double[] ScoreBuckets = [-1, -0.5, 0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 1];

    private readonly Meter _meter;
    private readonly Histogram<double> _groundedness;
    private readonly Histogram<double> _relevance;
    private readonly Histogram<double> _citationValidity;
    private readonly Counter<long> _answers;
    private readonly Counter<long> _unsupported;
    private readonly Counter<long> _alerts;

    /// <summary>Creates the instruments on a meter from <paramref name="meterFactory"/>.</summary>
    public QualityTelemetry(IMeterFactory meterFactory)
    {
        _meter = meterFactory.Create(Name);
        var advice = new InstrumentAdvice<double> { HistogramBucketBoundaries = ScoreBuckets };
        _groundedness = _meter.CreateHistogram<double>("mesh.assistant.groundedness", "1",
            "Share of an answer's sentences supported by a retrieved source.", tags: null, advice);
        _relevance = _meter.CreateHistogram<double>("mesh.assistant.answer_relevance", "1",
            "Cosine similarity of question and answer (MiniLM).", tags: null, advice);
        _citationValidity = _meter.CreateHistogram<double>("mesh.assistant.citation_validity", "1",
            "Share of an answer's citation marks that name a source.", tags: null, advice);
        _answers = _meter.CreateCounter<long>("mesh.assistant.answers", "{answer}",
            "Scored exchanges, by outcome (answered, blocked) and format validity (true, false, none).");
        _unsupported = _meter.CreateCounter<long>("mesh.assistant.unsupported_sentences", "{sentence}",
            "Answer sentences no retrieved source supports.");
        _alerts = _meter.CreateCounter<long>("mesh.assistant.drift.alerts", "{alert}",
            "Drift comparisons in which a signal crossed its threshold, by signal.");
    }

    /// <summary>Registers the drift gauges, which read <paramref name="series"/> when scraped (called once, by <see cref="DriftMonitor"/>).</summary>
    public void ObserveDrift(Func<IReadOnlyList<DriftSeriesState>> series)
    {
        _meter.CreateObservableGauge("mesh.assistant.drift.mmd2", () => Gauge(series(), (e, tags) =>
        [
            new(e.Questions.Mmd2, With(tags, "mesh.drift.stream", "questions")),
            .. e.Answers is { } a ? [new Measurement<double>(a.Mmd2, With(tags, "mesh.drift.stream", "answers"))] : Array.Empty<Measurement<double>>(),
        ]), "1", "Squared MMD (RBF kernel) of the current window against the reference, by stream.");
        _meter.CreateObservableGauge("mesh.assistant.drift.p_value", () => Gauge(series(), (e, tags) =>
        [
            new(e.Questions.PValue, With(tags, "mesh.drift.stream", "questions")),
            .. e.Answers is { } a ? [new Measurement<double>(a.PValue, With(tags, "mesh.drift.stream", "answers"))] : Array.Empty<Measurement<double>>(),
        ]), "1", "Permutation-test p-value of the MMD, by stream.");
        _meter.CreateObservableGauge("mesh.assistant.drift.psi", () => Gauge(series(), (e, tags) =>
        [
            new(e.QuestionLengthPsi, With(tags, "mesh.drift.stream", "questions")),
            new(e.AnswerLengthPsi, With(tags, "mesh.drift.stream", "answers")),
        ]), "1", "Population stability index of lengths in words, by stream.");
        _meter.CreateObservableGauge("mesh.assistant.drift.rate", () => Gauge(series(), (e, tags) =>
        [
            new(e.ReferenceBlockRate, With(With(tags, "mesh.drift.rate", "block"), "mesh.drift.window", "reference")),
            new(e.BlockRate, With(With(tags, "mesh.drift.rate", "block"), "mesh.drift.window", "current")),
            new(e.ReferenceRedactRate, With(With(tags, "mesh.drift.rate", "redact"), "mesh.drift.window", "reference")),
            new(e.RedactRate, With(With(tags, "mesh.drift.rate", "redact"), "mesh.drift.window", "current")),
        ]), "1", "Share of exchanges a guard blocked or redacted, in the reference and the current window.");
    }

    /// <summary>Records the scores of one exchange.</summary>
    public void Scored(string model, string tenant, string outcome, float? groundedness, float? relevance, float? citationValidity, bool? formatValid, int unsupported)
    {
        var tags = Tags(model, tenant);
        if (groundedness is { } g)
        {
            _groundedness.Record(g, tags);
        }

        if (relevance is { } r)
        {
            _relevance.Record(r, tags);
        }

        if (citationValidity is { } c)
        {
            _citationValidity.Record(c, tags);
        }

        if (unsupported > 0)
        {
            _unsupported.Add(unsupported, tags);
        }

        tags.Add("mesh.assistant.outcome", outcome);
        tags.Add("mesh.assistant.format_valid", formatValid switch { true => "true", false => "false", null => "none" });
        _answers.Add(1, tags);
    }

    /// <summary>Counts one alerting signal of a comparison.</summary>
    public void DriftAlert(string model, string tenant, string signal)
    {
        var tags = Tags(model, tenant);
        tags.Add("mesh.drift.signal", signal);
        _alerts.Add(1, tags);
    }

    /// <summary>Disposes the meter.</summary>
    public void Dispose() => _meter.Dispose();

    private static TagList Tags(string model, string tenant) => new() { { "gen_ai.request.model", model }, { "mesh.tenant", tenant } };

    private static KeyValuePair<string, object?>[] With(KeyValuePair<string, object?>[] tags, string key, string value) => [.. tags, new(key, value)];

    private static IEnumerable<Measurement<double>> Gauge(
        IReadOnlyList<DriftSeriesState> series, Func<DriftEvaluation, KeyValuePair<string, object?>[], Measurement<double>[]> measure)
    {
        foreach (var s in series)
        {
            if (s.Last is { } last)
            {
                foreach (var m in measure(last, [new("gen_ai.request.model", s.Model), new("mesh.tenant", s.Tenant)]))
                {
                    yield return m;
                }
            }
        }
    }
}
