using Mesh.Guard.Detectors;
using Mesh.Guard.Embeddings;
using Mesh.Guard.Policies;
using Mesh.Guard.Schema;

namespace Mesh.Guard.Checking;

/// <summary>
/// One CheckStream: the text arrives chunk by chunk and each chunk is judged from the last settled
/// offset, not from the start, so the work per chunk does not grow with the text already received
/// (linear in the stream, however it is chunked). Each rule's detector kind says how
/// (<see cref="StreamingBehaviour"/>, from <see cref="DetectorRegistry"/>):
/// <list type="bullet">
/// <item>Window: the detector runs on the text from <see cref="StreamReach.Behind"/> characters
/// before the rule's settled offset; a finding is reported once <see cref="StreamReach.Ahead"/>
/// characters past its end have arrived (half an address is never reported); the settled offset
/// then moves to where no finding can still change.</item>
/// <item>Sentences: each sentence is embedded and judged once, when it is complete and
/// <see cref="SentenceHold"/> characters follow it.</item>
/// <item>Prefix: judged on the new chunk, counting the code points before it.</item>
/// <item>WholeText: judged only by the final whole-text check.</item>
/// </list>
/// For detectors whose findings stay within their reach, the findings reported along the way are
/// those a whole-text check finds; the final message is a whole-text check (its sentence
/// embeddings come from this stream's cache). Not thread-safe: one per stream.
/// </summary>
public sealed class StreamingCheck
{
    /// <summary>Characters that must follow a complete sentence before it is judged (the rules' largest look-ahead).</summary>
    public const int SentenceHold = 4;

    private readonly ITextEmbedder _embedder;
    private readonly CompiledSchema? _schema;
    private readonly CancellationToken _cancellationToken;
    private readonly IReadOnlyList<Rule> _rules;
    private readonly StreamingBehaviour[] _behaviour;
    private readonly int[] _settled;
    private readonly bool _usesSentences;
    private readonly TextSegmenter.Scanner _scanner = new();
    private readonly List<TextSegmenter.Segment> _pendingSentences = [];
    private readonly HashSet<(string Rule, string Entity, int Start)> _reported = [];

    internal StreamingCheck(ITextEmbedder embedder, IReadOnlyList<Rule> rules, CompiledSchema? schema, CancellationToken cancellationToken)
    {
        _embedder = embedder;
        _rules = rules;
        _schema = schema;
        _cancellationToken = cancellationToken;
        _behaviour = rules.Select(r => DetectorRegistry.StreamingOf(r.DetectorKind)).ToArray();
        _settled = new int[rules.Count];
        _usesSentences = _behaviour.Any(b => (b & StreamingBehaviour.Sentences) != 0);
    }

    /// <summary>The text received so far.</summary>
    public TextBuffer Text { get; } = new();

    /// <summary>Sentence embeddings of this stream, by sentence text, reused by the final check.</summary>
    public Dictionary<string, float[]> Embeddings { get; } = new(StringComparer.Ordinal);

    /// <summary>The strongest action of every violation reported so far.</summary>
    public RuleAction Verdict { get; private set; } = RuleAction.Allow;

    /// <summary>
    /// Characters the detectors and the sentence scanner have read over the whole stream: the
    /// stream's work, which grows linearly with its length.
    /// </summary>
    public long CharactersScanned { get; private set; }

    /// <summary>
    /// Appends <paramref name="chunk"/> and returns the violations it settled, each reported once
    /// over the stream, in text order (UTF-16 spans of the whole text; <see cref="TextBuffer.CodePointAt"/> maps them).
    /// </summary>
    public IReadOnlyList<Violation> Append(string chunk)
    {
        var previous = Text.Length;
        Text.Append(chunk);
        var n = Text.Length;
        var sentences = ReleaseSentences(n);
        var found = new List<Violation>();
        for (var r = 0; r < _rules.Count; r++)
        {
            _cancellationToken.ThrowIfCancellationRequested();
            var behaviour = _behaviour[r];
            var rule = _rules[r];
            var reach = rule.Detector.Reach;
            var keepFrom = int.MaxValue;
            if ((behaviour & StreamingBehaviour.Window) != 0)
            {
                keepFrom = _settled[r];
            }
            var useSentences = (behaviour & StreamingBehaviour.Sentences) != 0 && sentences.Count > 0;
            if (useSentences)
            {
                keepFrom = Math.Min(keepFrom, sentences[0].Start);
            }
            if ((behaviour & StreamingBehaviour.Prefix) != 0)
            {
                keepFrom = Math.Min(keepFrom, previous);
            }
            if (keepFrom >= n)
            {
                continue;
            }
            var from = Text.PairStart(Math.Max(0, keepFrom - reach.Behind));
            var window = Text.ToString(from, n - from);
            CharactersScanned += window.Length;
            var context = new DetectionContext(window, _embedder, isPartial: true, _schema, Embeddings, _cancellationToken,
                segments: useSentences ? sentences.Select(s => s with { Start = s.Start - from, End = s.End - from }).ToList() : [],
                scanFrom: keepFrom - from, codePointOffset: Text.CodePointAt(from), newFrom: Math.Max(0, previous - from));
            foreach (var f in rule.Detector.Detect(context))
            {
                var (start, end) = (f.Start + from, f.End + from);
                var mayGrow = (behaviour & StreamingBehaviour.Prefix) == 0 && end + (f.Ahead ?? reach.Ahead) > n;
                if (start < keepFrom || mayGrow || !_reported.Add((rule.Name, f.EntityType, start)))
                {
                    continue;
                }
                found.Add(PolicyEvaluator.ToViolation(rule, f with { Start = start, End = end }));
            }
            if ((behaviour & StreamingBehaviour.Window) != 0)
            {
                // No finding starting before this can still change: its end and look-ahead have arrived.
                _settled[r] = Math.Max(_settled[r], n - reach.Behind - reach.Ahead);
            }
        }
        PolicyEvaluator.SortInTextOrder(found, _rules);
        Verdict = found.Select(v => v.Rule.Action).Append(Verdict).Max();
        return found;
    }

    /// <summary>Complete sentences followed by <see cref="SentenceHold"/> characters, each released once.</summary>
    private List<TextSegmenter.Segment> ReleaseSentences(int n)
    {
        if (!_usesSentences)
        {
            return [];
        }
        var read = _scanner.Read;
        _scanner.Advance(Text.Span, final: false, _pendingSentences);
        CharactersScanned += _scanner.Read - read;
        var ready = _pendingSentences.TakeWhile(s => s.End + SentenceHold <= n).ToList();
        _pendingSentences.RemoveRange(0, ready.Count);
        return ready;
    }
}
