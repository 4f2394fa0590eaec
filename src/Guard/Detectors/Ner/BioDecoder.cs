namespace Mesh.Guard.Detectors.Ner;

/// <summary>
/// Turns per-word labels into entity spans. A word's label is the arg-max of its first WordPiece's
/// softmax (Hugging Face's "first" aggregation) and its score that probability. An entity starts at
/// a B- word, or at an I- word that does not continue an entity of its type (models emit such runs;
/// Hugging Face's pipeline starts an entity there too), runs over the following I- words of its type,
/// and scores the mean of its words' scores.
/// </summary>
public static class BioDecoder
{
    /// <summary>One word's decision: the label index and its probability.</summary>
    public readonly record struct WordLabel(int Label, float Score);

    /// <summary>An entity over words [FirstWord, LastWord] with its Presidio name and mean score.</summary>
    public readonly record struct Entity(string EntityType, int FirstWord, int LastWord, float Score);

    /// <summary>Arg-max and softmax probability of one row of logits.</summary>
    public static WordLabel Classify(ReadOnlySpan<float> logits)
    {
        var best = 0;
        for (var i = 1; i < logits.Length; i++)
        {
            if (logits[i] > logits[best])
            {
                best = i;
            }
        }
        // Softmax of the best label, shifted by the maximum so exp never overflows.
        double sum = 0;
        foreach (var l in logits)
        {
            sum += Math.Exp(l - logits[best]);
        }
        return new WordLabel(best, (float)(1 / sum));
    }

    /// <summary>The entities of a labelled word sequence, in order.</summary>
    public static List<Entity> Decode(IReadOnlyList<WordLabel> words, BioLabels labels)
    {
        var result = new List<Entity>();
        string? current = null;
        var first = 0;
        double scoreSum = 0;
        for (var w = 0; w <= words.Count; w++)
        {
            var entity = w < words.Count ? labels.EntityOf(words[w].Label) : null;
            var continues = entity is not null && entity == current && !labels.Begins(words[w].Label);
            if (continues)
            {
                scoreSum += words[w].Score;
                continue;
            }
            if (current is not null)
            {
                result.Add(new Entity(current, first, w - 1, (float)(scoreSum / (w - first))));
            }
            current = entity;
            first = w;
            scoreSum = entity is null ? 0 : words[w].Score;
        }
        return result;
    }
}
