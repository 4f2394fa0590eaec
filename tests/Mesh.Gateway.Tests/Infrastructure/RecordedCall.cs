namespace Mesh.Gateway.Tests.Infrastructure;

/// <summary>What a service host received for one call: its path and the metadata the tests look at.</summary>
public sealed record RecordedCall(string Path, IReadOnlyDictionary<string, string> Headers)
{
    public string? Header(string name) => Headers.TryGetValue(name, out var value) ? value : null;
}
