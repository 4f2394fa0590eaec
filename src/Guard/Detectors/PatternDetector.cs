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
        foreach (var recognizer in Recognizers)
        {
            foreach (var (start, end) in recognizer.Find(context.Text))
            {
                yield return new Finding(recognizer.EntityType, start, end, 1f, $"{recognizer.EntityType} detected");
            }
        }
    }
}
