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

    public IEnumerable<Finding> Detect(DetectionContext context)
    {
        var specific = new List<Finding>();
        var fallback = new List<Finding>();
        foreach (var recognizer in Recognizers)
        {
            foreach (var (start, end) in recognizer.Find(context.Text))
            {
                (recognizer.IsFallback ? fallback : specific).Add(new Finding(recognizer.EntityType, start, end, 1f, $"{recognizer.EntityType} detected"));
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
