using Mesh.Guard.Embeddings;

namespace Mesh.Guard.Tests;

/// <summary>Parsing and streaming tests need no real embeddings: every text gets the same zero vector.</summary>
public sealed class ZeroEmbedder : ITextEmbedder
{
    public int Dimensions => 4;

    /// <summary>How many texts were embedded, for tests that count model work.</summary>
    public int Embedded;

    public float[][] Embed(IReadOnlyList<string> texts, CancellationToken cancellationToken = default)
    {
        Interlocked.Add(ref Embedded, texts.Count);
        return texts.Select(_ => new float[4]).ToArray();
    }
}
