namespace Mesh.Guard.Detectors;

/// <summary>
/// One thing a detector found. <see cref="Start"/> and <see cref="End"/> are UTF-16 indices into
/// the checked text ([Start, End)); the service converts them to code points at the edge.
/// </summary>
public readonly record struct Finding(
    string EntityType,
    int Start,
    int End,
    float Score,
    string Message,
    string JsonPointer = "");
