namespace Mesh.Gateway.Tests.Infrastructure;

/// <summary>
/// The test classes that share one <see cref="MeshFixture"/>: starting the services once keeps the
/// suite fast on a 2-core CI machine. Tests that spend a limit use their own key.
/// </summary>
[CollectionDefinition(Name)]
public sealed class MeshCollection : ICollectionFixture<MeshFixture>
{
    public const string Name = "mesh";
}
