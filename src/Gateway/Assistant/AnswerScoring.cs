using System.Diagnostics;
using Grpc.Core;
using Mesh.Guard.V1;
using Mesh.Retrieval.V1;
using Microsoft.Extensions.Options;

namespace Mesh.Gateway.Assistant;

/// <summary>
/// Asks Guard's QualityService to score an exchange (and record it for drift), through the same
/// upstream path as the pipeline's other stages, so the caller's tenant is the one recorded. Scoring
/// never fails an answer: a failed call is logged and the scores are left unset.
/// </summary>
/// <remarks>
/// With <see cref="AssistantOptions.ScoreSampleRate"/> below 1, only that share of exchanges is sent:
/// exchange n (counting from 1) is scored when ⌊n·rate⌋ &gt; ⌊(n−1)·rate⌋, so the sample is exact and
/// evenly spread without randomness.
/// </remarks>
public sealed class AnswerScoring(UpstreamClients upstream, IOptions<AssistantOptions> options, ILogger<AnswerScoring> logger)
{
    private long _exchanges;

    /// <summary>Scores a completed answer and tags <paramref name="span"/> with the scores; null when off, not sampled or failed.</summary>
    public async Task<AnswerScores?> ScoreAsync(
        string model, string question, string answer, IReadOnlyList<ScoredPoint> sources, string schema,
        Mesh.Guard.V1.Action inputVerdict, Mesh.Guard.V1.Action outputVerdict, string requestId, CallOptions call, Activity? span)
    {
        if (!options.Value.ScoreAnswers || !Sampled(options.Value.ScoreSampleRate))
        {
            return null;
        }

        var request = new ScoreAnswerRequest
        {
            Model = model,
            Question = question,
            Answer = answer,
            ResponseSchemaJson = schema,
            InputVerdict = inputVerdict,
            OutputVerdict = outputVerdict,
            RequestId = requestId,
        };
        request.Sources.AddRange(sources.Select(p => new AnswerSource { Id = p.Id.ToText(), Text = p.SourceText() }));
        try
        {
            var scores = await upstream.Quality.ScoreAnswerAsync(request, call);
            if (span is not null)
            {
                if (scores.HasGroundedness)
                {
                    span.SetTag("mesh.assistant.groundedness", scores.Groundedness);
                }

                if (scores.HasAnswerRelevance)
                {
                    span.SetTag("mesh.assistant.answer_relevance", scores.AnswerRelevance);
                }

                if (scores.HasCitationValidity)
                {
                    span.SetTag("mesh.assistant.citation_validity", scores.CitationValidity);
                }

                if (scores.HasFormatValid)
                {
                    span.SetTag("mesh.assistant.format_valid", scores.FormatValid);
                }

                span.SetTag("mesh.assistant.unsupported_sentences", scores.UnsupportedSentences.Count);
            }

            return scores;
        }
        catch (RpcException e) when (e.StatusCode != StatusCode.Cancelled)
        {
            logger.LogWarning("Ask {RequestId}: answer not scored: {Status} {Detail}", requestId, e.StatusCode, e.Status.Detail);
            return null;
        }
    }

    private bool Sampled(double rate)
    {
        if (rate >= 1)
        {
            return true;
        }

        var n = Interlocked.Increment(ref _exchanges);
        return Math.Floor(n * rate) > Math.Floor((n - 1) * rate);
    }
}
