using Mesh.Guard.Embeddings;

namespace Mesh.Guard.Quality;

/// <summary>
/// Groundedness of an answer in its sources, the idea of Ragas' faithfulness (the share of an
/// answer's claims the context supports) with sentence embeddings in place of an LLM judge: each
/// answer sentence (TextSegmenter's segments, citation marks removed, at least
/// <see cref="QualityOptions.MinSentenceWords"/> words) is compared by MiniLM cosine similarity with
/// every source sentence and every whole source; its support is the best match. A sentence whose
/// support reaches the calibrated threshold is supported. Embedding similarity finds sentences about
/// things no source talks about; it does not catch a wrong number in an otherwise matching sentence
/// ("costs $99" against "Price $119") — see the README's measured precision and recall.
/// </summary>
public sealed class Groundedness(EmbeddingCache sources, ITextEmbedder embedder)
{
    /// <summary>How well one answer sentence is supported.</summary>
    /// <param name="Text">The sentence, citation marks removed.</param>
    /// <param name="Similarity">Best cosine similarity to a source sentence or source.</param>
    /// <param name="Source">Index of the source that match belongs to; -1 when there are no sources.</param>
    public readonly record struct Support(string Text, float Similarity, int Source);

    /// <summary>The answer sentences that are scored: segments with citation marks removed and at least <paramref name="minWords"/> words.</summary>
    public static List<string> Sentences(string answer, int minWords)
    {
        var sentences = new List<string>();
        foreach (var segment in TextSegmenter.Split(answer))
        {
            var text = CitationMarks.Strip(answer[segment.Start..segment.End]);
            if (text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries).Length >= minWords)
            {
                sentences.Add(text);
            }
        }

        return sentences;
    }

    /// <summary>
    /// The support of each sentence by <paramref name="sourceTexts"/>. <paramref name="sentenceVectors"/>
    /// may carry the sentences' embeddings already (the scorer embeds them in one batch with the
    /// question and answer); null embeds them here.
    /// </summary>
    public Support[] Score(IReadOnlyList<string> sentences, IReadOnlyList<string> sourceTexts, float[][]? sentenceVectors, CancellationToken cancellationToken)
    {
        var units = new List<string>();
        var owners = new List<int>();
        for (var s = 0; s < sourceTexts.Count; s++)
        {
            var text = sourceTexts[s];
            units.Add(text);
            owners.Add(s);
            var segments = TextSegmenter.Split(text);
            if (segments.Count > 1)
            {
                foreach (var segment in segments)
                {
                    units.Add(text[segment.Start..segment.End]);
                    owners.Add(s);
                }
            }
        }

        var unitVectors = sources.Embed(units, cancellationToken);
        sentenceVectors ??= embedder.Embed(sentences, cancellationToken);
        var result = new Support[sentences.Count];
        for (var i = 0; i < sentences.Count; i++)
        {
            if (unitVectors.Length == 0)
            {
                result[i] = new Support(sentences[i], 0, -1);
                continue;
            }

            var (score, index) = VectorMath.Best(sentenceVectors[i], unitVectors);
            result[i] = new Support(sentences[i], score, owners[index]);
        }

        return result;
    }
}
