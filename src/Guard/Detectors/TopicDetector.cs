using Mesh.Guard.Embeddings;

namespace Mesh.Guard.Detectors;

/// <summary>
/// Topic restrictions described in words. A sentence whose similarity to a denied topic reaches the
/// threshold is a finding on that sentence. When allowed topics are set, a text whose overall
/// direction (the normalised mean of its sentence vectors) is below the threshold for every
/// allowed topic is off-topic: one finding spanning the whole text.
/// </summary>
public sealed class TopicDetector(
    IReadOnlyList<(string Topic, float[] Vector)> denied,
    IReadOnlyList<(string Topic, float[] Vector)> allowed,
    float deniedThreshold,
    float allowedThreshold) : IDetector
{
    /// <inheritdoc/>
    public string Category => "topic";

    /// <inheritdoc/>
    public IEnumerable<Finding> Detect(DetectionContext context)
    {
        var segments = context.Segments;
        var found = new List<Finding>();
        if (denied.Count > 0)
        {
            foreach (var segment in segments)
            {
                var (score, index) = VectorMath.Best(segment.Vector, denied.Select(d => d.Vector).ToArray());
                if (score >= deniedThreshold)
                {
                    found.Add(new Finding("denied_topic", segment.Start, segment.End, Math.Clamp(score, 0f, 1f),
                        $"Text is about the denied topic '{denied[index].Topic}' (similarity {score:F2} >= {deniedThreshold:F2})"));
                }
            }
        }
        // Off-topic is a judgement on the whole text: it waits until a streamed text is complete.
        if (allowed.Count > 0 && !context.IsPartial && segments.Count > 0)
        {
            var direction = VectorMath.MeanDirection(segments.Select(s => s.Vector).ToArray());
            var (score, index) = VectorMath.Best(direction, allowed.Select(a => a.Vector).ToArray());
            if (score < allowedThreshold)
            {
                found.Add(new Finding("off_topic", 0, context.Text.Length, Math.Clamp(1f - score, 0f, 1f),
                    $"Text matches no allowed topic (closest '{allowed[index].Topic}' at {score:F2} < {allowedThreshold:F2})"));
            }
        }
        return found;
    }
}
