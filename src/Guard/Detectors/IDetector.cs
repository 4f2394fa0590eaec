namespace Mesh.Guard.Detectors;

/// <summary>
/// A detector looks for one family of problems in a text. Detectors are built once per policy
/// load (patterns compiled, reference texts embedded) and are then immutable and thread-safe.
/// </summary>
public interface IDetector
{
    /// <summary>The violation category its findings carry ("pii", "secret", "prompt_injection", …).</summary>
    string Category { get; }

    /// <summary>Every finding in <see cref="DetectionContext.Text"/>.</summary>
    IEnumerable<Finding> Detect(DetectionContext context);
}
