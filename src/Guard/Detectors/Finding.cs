namespace Mesh.Guard.Detectors;

/// <summary>
/// One thing a detector found. <see cref="Start"/> and <see cref="End"/> are UTF-16 indices into
/// the checked text ([Start, End)); the service converts them to code points at the edge.
/// <see cref="Ahead"/>, when set, replaces the detector's <see cref="StreamReach.Ahead"/> for this
/// finding (a fixed-length key is settled by the one character after it).
/// </summary>
public readonly record struct Finding(
    string EntityType,
    int Start,
    int End,
    float Score,
    string Message,
    string JsonPointer = "",
    int? Ahead = null);
