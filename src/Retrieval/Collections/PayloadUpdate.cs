using Google.Protobuf.WellKnownTypes;

namespace Mesh.Retrieval.Collections;

/// <summary>
/// Payload-only updates with Qdrant's semantics: <c>set_payload</c> merges the given top-level keys into the
/// payload (each given key replaces the old value of that key; other keys stay), <c>overwrite_payload</c>
/// replaces the whole payload. Applied when a write is checked and again when its log record is replayed,
/// so both produce the same payload.
/// </summary>
internal static class PayloadUpdate
{
    /// <summary>The payload after the update; <paramref name="current"/> is not changed.</summary>
    public static Struct Apply(Struct current, Struct update, bool overwrite)
    {
        if (overwrite)
        {
            return update.Clone();
        }
        var merged = current.Clone();
        foreach (var (key, value) in update.Fields)
        {
            merged.Fields[key] = value.Clone();
        }
        return merged;
    }
}
