namespace Mesh.Guard.Detectors.Ner;

/// <summary>
/// PERSON, LOCATION and ORGANIZATION from a deployment's token-classification model (see
/// <see cref="NerModel"/>), as Presidio's transformers recognizer finds them. The text is split into
/// BERT's words on the original string (<see cref="WordSplitter"/>), each word into WordPieces; the
/// pieces are cut into windows of <c>max_sequence_length − 2</c> that overlap by <c>window_overlap</c>,
/// all windows of a text run in batches, and each piece takes its logits from the window in which it
/// has the most context on both sides. Words are labelled by their first piece and decoded as BIO
/// (<see cref="BioDecoder"/>); an entity is reported from its first word's start to its last word's
/// end in the original text (UTF-16 here; code points at the service's edge) when its mean score is
/// at least <c>min_score</c>. Judged on the whole text: a word's label depends on its whole window.
/// Accuracy is the supplied model's; Guard ships none.
/// </summary>
public sealed class NerDetector : IDetector
{
    private readonly NerModel _model;
    private readonly BioLabels _labels;
    private readonly float _minScore;
    private readonly int _content;
    private readonly int _stride;

    /// <summary>A detector over <paramref name="model"/>.</summary>
    /// <param name="model">The loaded model and vocabulary.</param>
    /// <param name="labels">The model's labels in output order and their entity mapping.</param>
    /// <param name="minScore">Lowest mean probability reported, in [0, 1].</param>
    /// <param name="maxSequenceLength">Tokens per window including [CLS] and [SEP], at least 3.</param>
    /// <param name="windowOverlap">Pieces shared by consecutive windows, less than maxSequenceLength − 2.</param>
    public NerDetector(NerModel model, BioLabels labels, float minScore, int maxSequenceLength, int windowOverlap)
    {
        _model = model;
        _labels = labels;
        _minScore = minScore;
        _content = maxSequenceLength - 2;
        _stride = _content - windowOverlap;
        if (_content < 1 || _stride < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(windowOverlap), "window_overlap must be below max_sequence_length − 2");
        }
    }

    /// <inheritdoc />
    public string Category => "pii";

    /// <summary>The model this detector runs (shared with every rule naming the same files).</summary>
    public NerModel Model => _model;

    /// <inheritdoc />
    public IEnumerable<Finding> Detect(DetectionContext context)
    {
        if (context.IsPartial)
        {
            return [];
        }
        var text = context.Text;
        var words = new List<WordSplitter.Word>();
        var firstPiece = new List<int>();
        var pieces = new List<int>();
        foreach (var word in WordSplitter.Split(text))
        {
            var ids = _model.Pieces(text.AsSpan(word.Start, word.End - word.Start));
            if (ids.Count == 0)
            {
                continue;
            }
            words.Add(word);
            firstPiece.Add(pieces.Count);
            pieces.AddRange(ids);
        }
        if (words.Count == 0)
        {
            return [];
        }
        var all = pieces.ToArray();
        var starts = new List<int>();
        for (var s = 0; ; s += _stride)
        {
            starts.Add(s);
            if (s + _content >= all.Length)
            {
                break;
            }
        }
        var windows = starts.Select(s => new ArraySegment<int>(all, s, Math.Min(_content, all.Length - s))).ToArray();
        var logits = _model.Run(windows, _labels.Count, context.CancellationToken);

        var labelled = new BioDecoder.WordLabel[words.Count];
        for (var w = 0; w < words.Count; w++)
        {
            var (window, offset) = MostCentral(firstPiece[w], starts, all.Length);
            labelled[w] = BioDecoder.Classify(logits[window][offset]);
        }
        var findings = new List<Finding>();
        foreach (var e in BioDecoder.Decode(labelled, _labels))
        {
            var start = words[e.FirstWord].Start;
            if (e.Score >= _minScore && start >= context.ScanFrom)
            {
                findings.Add(new Finding(e.EntityType, start, words[e.LastWord].End, e.Score,
                    $"{e.EntityType} found by the NER model (score {e.Score:0.00})"));
            }
        }
        return findings;
    }

    // The window in which the piece has the most context on both sides; a side that is the text's
    // own start or end counts as unlimited context, since no window can see further.
    private (int Window, int Offset) MostCentral(int piece, List<int> starts, int total)
    {
        var best = -1;
        var bestContext = -1;
        for (var w = 0; w < starts.Count; w++)
        {
            var s = starts[w];
            var e = Math.Min(s + _content, total);
            if (piece < s || piece >= e)
            {
                continue;
            }
            var left = s == 0 ? int.MaxValue : piece - s;
            var right = e == total ? int.MaxValue : e - 1 - piece;
            var context = Math.Min(left, right);
            if (context > bestContext)
            {
                (best, bestContext) = (w, context);
            }
        }
        return (best, piece - starts[best]);
    }
}
