using Grpc.Core;
using Mesh.Guard.Checking;
using Mesh.Guard.Quality;
using Mesh.Guard.Quality.Drift;
using Mesh.Guard.Schema;
using Mesh.Guard.V1;
using Mesh.ServiceDefaults.Errors;
using Mesh.ServiceDefaults.Tenancy;
using Microsoft.Extensions.Options;

namespace Mesh.Guard.Services;

/// <summary>
/// The mesh.guard.v1.QualityService endpoint (quality.proto): scores answers, records them as
/// metrics and drift samples of the caller's (model, tenant), and reports drift of the caller's tenant.
/// </summary>
public sealed class QualityGrpcService(
    AnswerScorer scorer,
    DriftMonitor drift,
    QualityTelemetry telemetry,
    TenantResolver tenants,
    IOptions<GuardOptions> guardOptions,
    IOptions<QualityOptions> options) : QualityService.QualityServiceBase
{
    private const int MaxModelChars = 256;

    /// <summary>Scores one answer (INVALID_ARGUMENT names a missing or oversized field, or a schema that does not parse).</summary>
    public override Task<AnswerScores> ScoreAnswer(ScoreAnswerRequest request, ServerCallContext context)
    {
        using var activity = QualityTelemetry.ActivitySource.StartActivity("quality.score_answer");
        Validate(request);
        var tenant = tenants.Resolve(context);
        AnswerScores scores;
        DriftSample sample;
        try
        {
            (scores, sample) = scorer.Score(request, context.CancellationToken);
        }
        catch (InvalidSchemaException e)
        {
            throw Invalid($"response_schema_json: {e.Message}");
        }

        var outcome = sample.Blocked ? "blocked" : "answered";
        telemetry.Scored(request.Model, tenant, outcome, scores.HasGroundedness ? scores.Groundedness : null,
            scores.HasAnswerRelevance ? scores.AnswerRelevance : null, scores.HasCitationValidity ? scores.CitationValidity : null,
            scores.HasFormatValid ? scores.FormatValid : null, scores.UnsupportedSentences.Count);
        drift.Record(request.Model, tenant, sample);
        if (activity is not null)
        {
            activity.SetTag("gen_ai.request.model", request.Model);
            activity.SetTag("mesh.tenant", tenant);
            activity.SetTag("mesh.assistant.outcome", outcome);
            if (scores.HasGroundedness)
            {
                activity.SetTag("mesh.assistant.groundedness", scores.Groundedness);
            }

            if (scores.HasAnswerRelevance)
            {
                activity.SetTag("mesh.assistant.answer_relevance", scores.AnswerRelevance);
            }

            activity.SetTag("mesh.assistant.unsupported_sentences", scores.UnsupportedSentences.Count);
        }

        return Task.FromResult(scores);
    }

    /// <summary>The caller's tenant's drift series (all models, or the one named).</summary>
    public override Task<DriftReport> GetDriftReport(GetDriftReportRequest request, ServerCallContext context)
    {
        var tenant = tenants.Resolve(context);
        var report = new DriftReport();
        foreach (var series in drift.Series.Where(s => s.Tenant == tenant && (request.Model.Length == 0 || s.Model == request.Model)))
        {
            var proto = new DriftSeries
            {
                Model = series.Model,
                Tenant = series.Tenant,
                Observed = series.Observed,
                ReferenceReady = series.ReferenceReady,
            };
            if (series.Last is { } last)
            {
                proto.Questions = ToProto(last.Questions);
                proto.Answers = last.Answers is { } a ? ToProto(a) : null;
                proto.QuestionLengthPsi = last.QuestionLengthPsi;
                proto.AnswerLengthPsi = last.AnswerLengthPsi;
                proto.ReferenceBlockRate = last.ReferenceBlockRate;
                proto.BlockRate = last.BlockRate;
                proto.ReferenceRedactRate = last.ReferenceRedactRate;
                proto.RedactRate = last.RedactRate;
                proto.ReferenceGroundedness = last.ReferenceGroundedness;
                proto.Groundedness = last.Groundedness;
                proto.Alerts.AddRange(last.Alerts);
                proto.EvaluatedAt = last.EvaluatedAt;
            }

            report.Series.Add(proto);
        }

        return Task.FromResult(report);
    }

    private void Validate(ScoreAnswerRequest request)
    {
        if (request.Model.Length is 0 or > MaxModelChars)
        {
            throw Invalid($"model is required (the model that answered), at most {MaxModelChars} characters");
        }

        if (string.IsNullOrWhiteSpace(request.Question))
        {
            throw Invalid("question is required (the question as the model saw it)");
        }

        if (request.Sources.Count > options.Value.MaxSources)
        {
            throw Invalid($"sources has {request.Sources.Count} entries; at most {options.Value.MaxSources} (Guard:Quality:MaxSources)");
        }

        var max = guardOptions.Value.MaxTextChars;
        var total = CodePoints.Count(request.Question) + CodePoints.Count(request.Answer) + request.Sources.Sum(s => CodePoints.Count(s.Text));
        if (total > max)
        {
            throw Invalid($"question, answer and sources together are longer than {max} characters (Guard:MaxTextChars)");
        }
    }

    private static EmbeddingDrift ToProto(Mmd.Result r) => new()
    {
        Mmd2 = r.Mmd2,
        PValue = r.PValue,
        Bandwidth = r.Bandwidth,
        ReferenceSize = r.ReferenceSize,
        CurrentSize = r.CurrentSize,
    };

    private static ServiceException Invalid(string message) => ServiceException.InvalidArgument(message);
}
