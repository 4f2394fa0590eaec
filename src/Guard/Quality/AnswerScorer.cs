using Mesh.Guard.Embeddings;
using Mesh.Guard.Quality.Drift;
using Mesh.Guard.Schema;
using Mesh.Guard.V1;
using Microsoft.Extensions.Options;

namespace Mesh.Guard.Quality;

/// <summary>
/// Scores one exchange (quality.proto's ScoreAnswer): groundedness (<see cref="Groundedness"/>),
/// answer relevance (cosine of question and answer embeddings, the embedding form of Ragas' answer
/// relevancy), citation validity (<see cref="CitationMarks"/> naming a source), format validity
/// (JSON Schema), and the guard verdicts as given; returns the drift sample of the exchange too.
/// One embedding batch for question, answer and answer sentences; source sentences come from the cache.
/// </summary>
public sealed class AnswerScorer(ITextEmbedder embedder, JsonSchemaValidator schemas, IOptions<QualityOptions> options)
{
    private readonly Groundedness _groundedness = new(new EmbeddingCache(embedder, options.Value.EmbeddingCacheEntries), embedder);

    /// <summary>The groundedness scorer (the calibration test uses the same one).</summary>
    public Groundedness Groundedness => _groundedness;

    /// <summary>Scores <paramref name="request"/> (already validated by the service).</summary>
    /// <exception cref="InvalidSchemaException">response_schema_json is not a usable schema.</exception>
    public (AnswerScores Scores, DriftSample Sample) Score(ScoreAnswerRequest request, CancellationToken cancellationToken)
    {
        var o = options.Value;
        var inputVerdict = request.InputVerdict == V1.Action.Unspecified ? V1.Action.Allow : request.InputVerdict;
        var outputVerdict = request.OutputVerdict == V1.Action.Unspecified ? V1.Action.Allow : request.OutputVerdict;
        var blocked = inputVerdict == V1.Action.Block || outputVerdict == V1.Action.Block;
        var scores = new AnswerScores { Threshold = o.GroundednessThreshold, InputVerdict = inputVerdict, OutputVerdict = outputVerdict };
        var answer = blocked ? "" : CitationMarks.Strip(request.Answer);
        var sentences = answer.Length == 0 ? [] : Groundedness.Sentences(request.Answer, o.MinSentenceWords);

        // One batch: question, answer, sentences.
        var vectors = embedder.Embed([request.Question, .. answer.Length > 0 ? [answer] : Array.Empty<string>(), .. sentences], cancellationToken);
        var question = vectors[0];
        float[]? answerVector = answer.Length > 0 ? vectors[1] : null;
        if (answerVector is not null)
        {
            scores.AnswerRelevance = VectorMath.Cosine(question, answerVector);
        }

        if (sentences.Count > 0 && request.Sources.Count > 0)
        {
            var support = _groundedness.Score(sentences, [.. request.Sources.Select(s => s.Text)], vectors[2..], cancellationToken);
            var supported = 0;
            foreach (var s in support)
            {
                if (s.Similarity >= o.GroundednessThreshold)
                {
                    supported++;
                }
                else
                {
                    scores.UnsupportedSentences.Add(new SentenceSupport { Text = s.Text, Similarity = s.Similarity, SourceId = request.Sources[s.Source].Id });
                }
            }

            scores.Groundedness = (float)supported / support.Length;
        }

        scores.Sentences = sentences.Count;
        if (!blocked)
        {
            var cited = CitationMarks.Numbers(request.Answer);
            scores.Citations = cited.Count;
            if (cited.Count > 0)
            {
                scores.CitationValidity = (float)cited.Count(k => k >= 1 && k <= request.Sources.Count) / cited.Count;
            }

            if (request.ResponseSchemaJson.Length > 0)
            {
                var errors = JsonSchemaValidator.Validate(schemas.Compile(request.ResponseSchemaJson), request.Answer);
                scores.FormatValid = errors.Count == 0;
                scores.FormatErrors.AddRange(errors.Select(e => $"{e.InstanceLocation}: {e.Message}"));
            }
        }

        var sample = new DriftSample(question, answerVector, Words(request.Question), answerVector is null ? null : Words(answer), blocked,
            inputVerdict == V1.Action.Redact || outputVerdict == V1.Action.Redact, scores.HasGroundedness ? scores.Groundedness : null);
        return (scores, sample);
    }

    private static int Words(string text) => text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries).Length;
}
