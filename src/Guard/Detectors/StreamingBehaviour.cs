namespace Mesh.Guard.Detectors;

/// <summary>
/// How a detector kind judges a text that is still arriving (CheckStream). Declared once per kind
/// in <see cref="Policies.DetectorRegistry"/>; the streaming check evaluates each chunk from the last
/// settled offset accordingly, so its cost per chunk does not grow with the text already received.
/// </summary>
[Flags]
public enum StreamingBehaviour
{
    /// <summary>Judged only on the complete text (a JSON Schema; whether any allowed topic fits).</summary>
    WholeText = 0,

    /// <summary>
    /// Findings are local: the detector runs on a window from <see cref="StreamReach.Behind"/>
    /// characters before the first unsettled position, and a finding is reported once
    /// <see cref="StreamReach.Ahead"/> characters past its end have arrived.
    /// </summary>
    Window = 1,

    /// <summary>Findings are whole sentences: the detector sees each sentence once, when the next character shows it complete.</summary>
    Sentences = 2,

    /// <summary>A finding runs from a position to the end of the text (a length limit): judged on the code points so far.</summary>
    Prefix = 4,
}
