namespace Mesh.Inference.Tests;

/// <summary>
/// Tests that measure the whole process (managed memory) run alone, after the parallel ones, so that
/// other tests' allocations do not count against them.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class SerialCollection
{
    public const string Name = "serial";
}
