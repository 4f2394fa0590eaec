namespace Mesh.Guard.Detectors;

/// <summary>
/// A detector looks for one family of problems in a text. Detectors are built once per policy
/// load (patterns compiled, reference texts embedded) and are then immutable and thread-safe.
/// </summary>
public interface IDetector
{
    /// <summary>The violation category its findings carry ("pii", "secret", "prompt_injection", …).</summary>
    string Category { get; }

    /// <summary>
    /// How far a finding and what decides it reach, in UTF-16 units, for detectors whose findings
    /// are local (<see cref="StreamingBehaviour.Window"/>): a streaming check rescans
    /// <see cref="StreamReach.Behind"/> characters before the first unsettled position, and reports
    /// a finding once <see cref="StreamReach.Ahead"/> characters past its end have arrived.
    /// </summary>
    StreamReach Reach => StreamReach.None;

    /// <summary>
    /// Every finding in <see cref="DetectionContext.Text"/> that starts at or after
    /// <see cref="DetectionContext.ScanFrom"/> (0 for a whole text). Text before it is context.
    /// </summary>
    IEnumerable<Finding> Detect(DetectionContext context);
}

/// <summary>The reach of a detector's findings (see <see cref="IDetector.Reach"/>), in UTF-16 units.</summary>
/// <param name="Behind">Longest finding plus the context before it that can change it (look-behinds, context words).</param>
/// <param name="Ahead">Characters past a finding's end that can still change it (look-aheads, a greedy repetition that may go on).</param>
public readonly record struct StreamReach(int Behind, int Ahead)
{
    /// <summary>No reach: findings depend only on their own characters (the default).</summary>
    public static StreamReach None => default;
}
