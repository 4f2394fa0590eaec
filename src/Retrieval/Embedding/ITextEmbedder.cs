namespace Mesh.Retrieval.Embedding;

/// <summary>
/// Turns texts into vectors. Collections that declare a built-in embedder use it for upserts that carry
/// text instead of a vector and for text queries. Implementations are thread-safe.
/// </summary>
public interface ITextEmbedder
{
    /// <summary>The name clients use to select this embedder (for example "all-MiniLM-L6-v2").</summary>
    string Name { get; }

    /// <summary>Length of every vector this embedder produces.</summary>
    int Dimensions { get; }

    /// <summary>Embeds a batch of texts; the result has one vector per text, in order.</summary>
    float[][] Embed(IReadOnlyList<string> texts, CancellationToken cancellationToken = default);

    /// <summary>Tokens the model reads for <paramref name="text"/> (with its special tokens): usage accounting.</summary>
    int CountTokens(string text);
}
