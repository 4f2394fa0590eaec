namespace Mesh.Guard.Detectors;

/// <summary>
/// A length limit in characters (code points); the finding spans the part past the limit. In a
/// stream it is judged on each new chunk, counting from the code points that came before it.
/// </summary>
public sealed class LengthDetector(int maxChars) : IDetector
{
    /// <inheritdoc/>
    public string Category => "length";

    /// <inheritdoc/>
    public IEnumerable<Finding> Detect(DetectionContext context)
    {
        var text = context.Text;
        var codePoints = context.CodePointOffset;
        // Passed before this window: an earlier chunk of the stream reported it. Fast path: UTF-16
        // length is an upper bound on code points.
        if (codePoints >= maxChars || codePoints + text.Length <= maxChars)
        {
            yield break;
        }
        for (var i = 0; i < text.Length; i++)
        {
            if (codePoints == maxChars)
            {
                yield return new Finding("max_chars", i, text.Length, 1f, $"Text is longer than the limit of {maxChars} characters");
                yield break;
            }
            if (char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                i++;
            }
            codePoints++;
        }
    }
}
