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
/// One embedding batch for answer and answer sentences; the question's vector and source sentences
/// come from caches (a popular question is asked again and again, a knowledge base returns the same
/// chunks), so a repeated question costs no MiniLM run for its side of the exchange.
/// </summary>
public sealed class AnswerScorer(ITextEmbedder embedder, JsonSchemaValidator schemas, IOptions<QualityOptions> options)
{
    private readonly Groundedness _groundedness = new(new EmbeddingCache(embedder, options.Value.EmbeddingCacheEntries), embedder);
    private readonly EmbeddingCache _questions = new(embedder, options.Value.EmbeddingCacheEntries);

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

        // The question from its cache; one batch for answer and sentences (none when blocked).
        var question = _questions.Embed([request.Question], cancellationToken)[0];
        var vectors = answer.Length > 0 ? embedder.Embed([answer, .. sentences], cancellationToken) : [];
        float[]? answerVector = answer.Length > 0 ? vectors[0] : null;
        if (answerVector is not null)
        {
            scores.AnswerRelevance = VectorMath.Cosine(question, answerVector);
        }

        if (sentences.Count > 0 && request.Sources.Count > 0)
        {
            var support = _groundedness.Score(sentences, [.. request.Sources.Select(s => s.Text)], vectors[1..], cancellationToken);
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
