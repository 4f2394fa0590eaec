using Mesh.Guard.Detectors.Pii;

namespace Mesh.Guard.Detectors;

/// <summary>
/// Runs a set of validated pattern recognizers: the PII detector (Presidio's entities) and the
/// secrets detector are both this, with different recognizers and category.
/// </summary>
public sealed class PatternDetector(string category, IReadOnlyList<IRecognizer> recognizers) : IDetector
{
    /// <inheritdoc/>
    public string Category { get; } = category;

    /// <summary>The recognizers run on every text, one entity type each.</summary>
    public IReadOnlyList<IRecognizer> Recognizers { get; } = recognizers;

    /// <inheritdoc />
    public StreamReach Reach { get; } = new(
        recognizers.Select(r => r.MaxLength).DefaultIfEmpty(0).Max(), recognizers.Select(r => r.MatchLookAhead).DefaultIfEmpty(0).Max());

    /// <inheritdoc/>
    public IEnumerable<Finding> Detect(DetectionContext context)
    {
        var specific = new List<Finding>();
        var fallback = new List<Finding>();
        foreach (var recognizer in Recognizers)
        {
            // In a stream, each recognizer rescans only its own reach, not the detector's: a
            // private-key block needs 8 K characters, an SSN a dozen. Its matches that start before
            // the new text less its longest match and look-ahead were reported with an earlier chunk;
            // one more longest match before that lets the scan fall into step with a whole-text scan.
            var from = context.ScanFrom == 0 ? 0 : Math.Max(0,
                Math.Max(context.ScanFrom, context.NewFrom - recognizer.MaxLength - recognizer.MatchLookAhead) - recognizer.MaxLength);
            foreach (var (start, end, score) in recognizer.Find(context.Text, from))
            {
                (recognizer.IsFallback ? fallback : specific).Add(new Finding(recognizer.EntityType, start, end, score, $"{recognizer.EntityType} detected", Ahead: recognizer.MatchLookAhead));
            }
        }
        foreach (var f in fallback)
        {
            if (!specific.Any(s => s.Start < f.End && f.Start < s.End))
            {
                specific.Add(f);
            }
        }
        return specific;
    }
}
