namespace Mesh.Guard.Embeddings;

/// <summary>
/// Turns texts into unit-length sentence embeddings, so that the dot product of two vectors is
/// their cosine similarity. Guard's own seam over the embedding model: detectors depend on this,
/// not on the model package, and tests can count calls.
/// </summary>
public interface ITextEmbedder
{
    /// <summary>Length of every vector <see cref="Embed"/> returns.</summary>
    int Dimensions { get; }

    /// <summary>Embeds every text, in order. Thread-safe.</summary>
    float[][] Embed(IReadOnlyList<string> texts, CancellationToken cancellationToken = default);
}
