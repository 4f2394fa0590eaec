namespace Mesh.Guard.Detectors.Pii;

/// <summary>
/// Finds one entity type in a text, the way a Presidio recognizer does. <see cref="PatternRecognizer"/>
/// (regex proposes, validator disposes) is the usual one; <see cref="PhoneRecognizer"/> hands its
/// candidates to libphonenumber. A <see cref="PatternDetector"/> runs a list of them.
/// </summary>
public interface IRecognizer
{
    /// <summary>The entity type its findings carry (Presidio's names: <c>EMAIL_ADDRESS</c>, <c>PHONE_NUMBER</c>, …).</summary>
    string EntityType { get; }

    /// <summary>
    /// The longest finding plus the context read before it, in UTF-16 units; a streaming check
    /// rescans this much before the first unsettled position.
    /// </summary>
    int MaxLength { get; }

    /// <summary>Characters past a finding's end that can still change it.</summary>
    int MatchLookAhead { get; }

    /// <summary>A catch-all whose finding is dropped where a specific recognizer of the same detector names the span.</summary>
    bool IsFallback { get; }

    /// <summary>Findings starting at or after <paramref name="from"/> (the text before it is read as context).</summary>
    IEnumerable<RecognizerResult> Find(string text, int from = 0);
}

/// <summary>One finding of a recognizer: [<paramref name="Start"/>, <paramref name="End"/>) in UTF-16 units and a score in [0, 1].</summary>
/// <param name="Start">First UTF-16 index of the value.</param>
/// <param name="End">One past its last UTF-16 index.</param>
/// <param name="Score">Confidence in [0, 1]; 1 for a value a checksum or validator accepted outright.</param>
public readonly record struct RecognizerResult(int Start, int End, float Score = 1f);
