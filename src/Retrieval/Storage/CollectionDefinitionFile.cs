using Mesh.Retrieval.Collections;
using Mesh.Retrieval.Services;
using Mesh.Retrieval.Storage.Records;

namespace Mesh.Retrieval.Storage;

/// <summary>
/// A collection's definition file: its tenant and <see cref="CollectionConfig"/>, written once at creation.
/// The bytes are a <see cref="CollectionDefinition"/> whose config is the contract's
/// <c>CreateCollectionRequest</c>, as every release has written it, so existing collections keep opening;
/// the conversion is <see cref="CollectionConfigMapping"/>'s, the only mapping of that message.
/// </summary>
internal static class CollectionDefinitionFile
{
    /// <summary>Writes the definition durably (temporary file, fsync, rename).</summary>
    public static void Write(string path, string tenant, CollectionConfig config) =>
        SnapshotFiles.WriteAtomically(path, new CollectionDefinition { Tenant = tenant, Config = CollectionConfigMapping.ToRequest(config) });

    /// <summary>
    /// The tenant and draft definition (unchecked: normalise it before use), or null when the file is missing;
    /// an unparsable file is <see cref="InvalidDataException"/> naming it.
    /// </summary>
    public static (string Tenant, CollectionConfig Draft)? Read(string path)
    {
        var definition = SnapshotFiles.ReadMessage(path, CollectionDefinition.Parser);
        return definition is null
            ? null
            : (definition.Tenant, CollectionConfigMapping.ToConfig(definition.Config ?? new V1.CreateCollectionRequest()));
    }
}
