using Mesh.Guard.Detectors.Pii;

namespace Mesh.Guard.Detectors;

/// <summary>
/// Runs a set of validated pattern recognizers: the PII detector (Presidio's entities) and the
/// secrets detector are both this, with different recognizers and category.
/// </summary>
public sealed class PatternDetector(string category, IReadOnlyList<PatternRecognizer> recognizers) : IDetector
{
    public string Category { get; } = category;

    public IReadOnlyList<PatternRecognizer> Recognizers { get; } = recognizers;

    /// <inheritdoc />
    public StreamReach Reach { get; } = new(
        recognizers.Select(r => r.MaxLength).DefaultIfEmpty(0).Max(), recognizers.Select(r => r.MatchLookAhead).DefaultIfEmpty(0).Max());

    public IEnumerable<Finding> Detect(DetectionContext context)
    {
        var specific = new List<Finding>();
        var fallback = new List<Finding>();
        foreach (var recognizer in Recognizers)
        {
            // Each recognizer rescans only its own reach: a private-key block needs 8 K
            // characters of a stream's window, an SSN a dozen.
            var from = context.ScanFrom == 0 ? 0 : Math.Max(0, context.ScanFrom - recognizer.MaxLength);
            foreach (var (start, end) in recognizer.Find(context.Text, from))
            {
                (recognizer.IsFallback ? fallback : specific).Add(new Finding(recognizer.EntityType, start, end, 1f, $"{recognizer.EntityType} detected", Ahead: recognizer.MatchLookAhead));
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
