using Grpc.Core;
using Mesh.Guard.Checking;
using Mesh.Guard.Policies;
using Mesh.Guard.Quality;
using Mesh.Guard.Quality.Drift;
using Mesh.Guard.Quality.Judge;
using Mesh.Guard.Schema;
using Mesh.Guard.V1;
using Mesh.ServiceDefaults.Errors;
using Mesh.ServiceDefaults.Tenancy;
using Microsoft.Extensions.Options;

namespace Mesh.Guard.Services;

/// <summary>
/// The mesh.guard.v1.QualityService endpoint (quality.proto): scores answers, records them as
/// metrics and drift samples of the caller's (model, tenant), reports drift of the caller's tenant,
/// and has answers graded by the configured judge model against a policy's rubric (Evaluate).
/// </summary>
public sealed class QualityGrpcService(
    AnswerScorer scorer,
    DriftMonitor drift,
    QualityTelemetry telemetry,
    TenantResolver tenants,
    PolicyStore policies,
    JudgeClient judge,
    JudgeTelemetry judgeTelemetry,
    IOptions<GuardOptions> guardOptions,
    IOptions<QualityOptions> options) : QualityService.QualityServiceBase
{
    private const int MaxModelChars = 256;

    /// <summary>Scores one answer (INVALID_ARGUMENT names a missing or oversized field, or a schema that does not parse).</summary>
    public override Task<AnswerScores> ScoreAnswer(ScoreAnswerRequest request, ServerCallContext context)
    {
        using var activity = QualityTelemetry.ActivitySource.StartActivity("quality.score_answer");
        Validate(request.Model, request.Question, request.Answer, request.Sources);
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

    /// <summary>
    /// Grades the answer with the judge model against the policy's rubric and applies the policy's
    /// minimum (errors in quality.proto: INVALID_ARGUMENT naming the field, NOT_FOUND, FAILED_PRECONDITION
    /// without a judge, UNAVAILABLE, DEADLINE_EXCEEDED…). The caller's deadline bounds the judge call.
    /// </summary>
    public override async Task<EvaluateResponse> Evaluate(EvaluateRequest request, ServerCallContext context)
    {
        using var activity = QualityTelemetry.ActivitySource.StartActivity("quality.evaluate");
        Validate(request.Model, request.Question, request.Answer, request.Sources);
        if (string.IsNullOrWhiteSpace(request.Answer))
        {
            throw Invalid("answer is required (the answer to grade)");
        }

        var tenant = tenants.Resolve(context);
        var policy = policies.Current.Get(request.Policy, tenant);
        var rule = policy.Judge ?? JudgeRule.Default;
        var (verdict, elapsed) = await judge.GradeAsync(request, rule, tenant, context.Deadline, context.CancellationToken);
        judgeTelemetry.Scored(request.Model, judge.Options.Model, tenant, verdict.Score);
        var met = rule.MinScore is not { } min || verdict.Score >= min;
        var response = new EvaluateResponse
        {
            Score = verdict.Score,
            Reason = verdict.Reason,
            JudgeModel = judge.Options.Model,
            Policy = policy.Name,
            MinScore = rule.MinScore ?? 0,
            MinScoreMet = met,
            Action = met ? V1.JudgeAction.None : rule.Action == JudgeMinimumAction.Block ? V1.JudgeAction.Block : V1.JudgeAction.Flag,
            JudgeSeconds = elapsed.TotalSeconds,
        };
        if (activity is not null)
        {
            activity.SetTag("gen_ai.request.model", request.Model);
            activity.SetTag("mesh.tenant", tenant);
            activity.SetTag("mesh.judge.model", response.JudgeModel);
            activity.SetTag("mesh.judge.score", response.Score);
            activity.SetTag("mesh.judge.min_score_met", met);
        }

        return response;
    }

    private void Validate(string model, string question, string answer, IReadOnlyCollection<AnswerSource> sources)
    {
        if (model.Length is 0 or > MaxModelChars)
        {
            throw Invalid($"model is required (the model that answered), at most {MaxModelChars} characters");
        }

        if (string.IsNullOrWhiteSpace(question))
        {
            throw Invalid("question is required (the question as the model saw it)");
        }

        if (sources.Count > options.Value.MaxSources)
        {
            throw Invalid($"sources has {sources.Count} entries; at most {options.Value.MaxSources} (Guard:Quality:MaxSources)");
        }

        var max = guardOptions.Value.MaxTextChars;
        var total = CodePoints.Count(question) + CodePoints.Count(answer) + sources.Sum(s => CodePoints.Count(s.Text));
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
