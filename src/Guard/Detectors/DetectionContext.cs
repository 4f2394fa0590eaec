using Mesh.Guard.Embeddings;
using Mesh.Guard.Schema;

namespace Mesh.Guard.Detectors;

/// <summary>
/// What one check hands every detector: the text (a whole text, or a window of a streamed one),
/// whether more of it is still coming, the request's own JSON Schema, and the text's segment
/// embeddings, computed at most once per check however many detectors need them.
/// </summary>
public sealed class DetectionContext
{
    private readonly ITextEmbedder _embedder;
    private readonly Dictionary<string, float[]>? _embeddingCache;
    private readonly IReadOnlyList<TextSegmenter.Segment>? _givenSegments;
    private IReadOnlyList<EmbeddedSegment>? _segments;

    /// <summary>A context for one check of <paramref name="text"/>.</summary>
    /// <param name="text">The text to judge (positions in findings are UTF-16 indices into it).</param>
    /// <param name="embedder">Computes segment embeddings when a detector first asks.</param>
    /// <param name="isPartial">True while a streamed text is still arriving.</param>
    /// <param name="requestSchema">The request's compiled JSON Schema, or null.</param>
    /// <param name="cancellationToken">The check's cancellation.</param>
    /// <param name="embeddingCache">Segment text to vector, kept by a streaming check across
    /// chunks so that a sentence is embedded once however many chunks and rules see it.</param>
    /// <param name="segments">The sentences to judge, relative to <paramref name="text"/>; null to
    /// split the text (a whole text). A streaming check passes the sentences completed by the last chunk.</param>
    /// <param name="scanFrom">Findings must start at or after this index; the text before it is context.</param>
    /// <param name="codePointOffset">Code points of the streamed text before <paramref name="text"/>.</param>
    /// <param name="newFrom">Index in <paramref name="text"/> of the first character the latest chunk added (0 for a whole text).</param>
    public DetectionContext(
        string text,
        ITextEmbedder embedder,
        bool isPartial = false,
        CompiledSchema? requestSchema = null,
        Dictionary<string, float[]>? embeddingCache = null,
        CancellationToken cancellationToken = default,
        IReadOnlyList<TextSegmenter.Segment>? segments = null,
        int scanFrom = 0,
        long codePointOffset = 0,
        int newFrom = 0)
    {
        Text = text;
        _embedder = embedder;
        IsPartial = isPartial;
        RequestSchema = requestSchema;
        _embeddingCache = embeddingCache;
        CancellationToken = cancellationToken;
        _givenSegments = segments;
        ScanFrom = scanFrom;
        CodePointOffset = codePointOffset;
        NewFrom = newFrom;
    }

    /// <summary>The text to judge: a whole text, or a window of a streamed one (see <see cref="ScanFrom"/>).</summary>
    public string Text { get; }

    /// <summary>
    /// True while a streamed answer is still arriving: detectors that judge the whole text (JSON
    /// Schema, allowed topics) wait for the end.
    /// </summary>
    public bool IsPartial { get; }

    /// <summary>The schema the request carried, compiled; null when it carried none.</summary>
    public CompiledSchema? RequestSchema { get; }

    /// <summary>The check's cancellation; detectors doing long work (embedding) observe it.</summary>
    public CancellationToken CancellationToken { get; }

    /// <summary>Index in <see cref="Text"/> from which findings are wanted; 0 for a whole text.</summary>
    public int ScanFrom { get; }

    /// <summary>
    /// Index in <see cref="Text"/> of the first character the latest chunk of a stream added; 0 for
    /// a whole text. A detector whose parts reach less far than the detector as a whole (one
    /// recognizer of many) may start each part from here less that part's reach.
    /// </summary>
    public int NewFrom { get; }

    /// <summary>Code points before <see cref="Text"/> in the streamed text; 0 for a whole text.</summary>
    public long CodePointOffset { get; }

    /// <summary>The text's sentences (see <see cref="TextSegmenter"/>) with their embeddings.</summary>
    public IReadOnlyList<EmbeddedSegment> Segments => _segments ??= EmbedSegments();

    private List<EmbeddedSegment> EmbedSegments()
    {
        var segments = _givenSegments ?? TextSegmenter.Split(Text);
        var texts = new string[segments.Count];
        var vectors = new float[segments.Count][];
        var missing = new List<int>();
        for (var i = 0; i < segments.Count; i++)
        {
            texts[i] = Text[segments[i].Start..segments[i].End];
            if (_embeddingCache is not null && _embeddingCache.TryGetValue(texts[i], out var cached))
            {
                vectors[i] = cached;
            }
            else
            {
                missing.Add(i);
            }
        }
        if (missing.Count > 0)
        {
            var computed = _embedder.Embed(missing.Select(i => texts[i]).ToArray(), CancellationToken);
            for (var k = 0; k < missing.Count; k++)
            {
                vectors[missing[k]] = computed[k];
                _embeddingCache?.TryAdd(texts[missing[k]], computed[k]);
            }
        }
        var result = new List<EmbeddedSegment>(segments.Count);
        for (var i = 0; i < segments.Count; i++)
        {
            result.Add(new EmbeddedSegment(segments[i].Start, segments[i].End, vectors[i]));
        }
        return result;
    }
}

/// <summary>A segment of the text ([Start, End) in UTF-16 units) and its unit-length embedding.</summary>
public sealed record EmbeddedSegment(int Start, int End, float[] Vector);
