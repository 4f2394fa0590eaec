using System.Collections.Concurrent;
using System.Text;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Microsoft.ML.Tokenizers;

namespace Mesh.Guard.Detectors.Ner;

/// <summary>
/// A deployment's BERT-style token-classification model (ONNX) with its WordPiece vocabulary: one
/// <see cref="InferenceSession"/> per model file, shared by every rule and policy reload that names
/// the same files (<see cref="Load"/> caches by path, size and modification time), since ONNX
/// Runtime's <c>Run</c> is thread-safe.
/// <para>
/// Inputs fed: <c>input_ids</c> (int64 [batch, sequence], required), <c>attention_mask</c> (1 for
/// tokens, 0 for padding) and <c>token_type_ids</c> (zeros) when the model declares them; any other
/// input is refused at load. Output: <c>logits</c> (or the only output), float [batch, sequence,
/// labels]. Each window is <c>[CLS] pieces… [SEP]</c>; windows of one text run in batches of up to
/// <see cref="MaxBatch"/>, padded with <c>[PAD]</c> to the longest.
/// </para>
/// </summary>
public sealed class NerModel
{
    /// <summary>Most windows in one ONNX Runtime run (bounds a run's memory: batch × sequence × labels floats).</summary>
    public const int MaxBatch = 32;

    private static readonly ConcurrentDictionary<string, Lazy<NerModel>> Cache = new(StringComparer.Ordinal);
    private static readonly string[] FedInputs = ["input_ids", "attention_mask", "token_type_ids"];

    private readonly InferenceSession _session;
    private readonly BertTokenizer _tokenizer;
    private readonly bool _stripAccents;
    private readonly bool _feedMask;
    private readonly bool _feedTypes;
    private readonly string _output;
    private readonly int _fixedSequence;
    private long _runs;

    private NerModel(InferenceSession session, BertTokenizer tokenizer, bool stripAccents)
    {
        _stripAccents = stripAccents;
        _session = session;
        _tokenizer = tokenizer;
        foreach (var (name, meta) in session.InputMetadata)
        {
            if (!FedInputs.Contains(name, StringComparer.Ordinal))
            {
                throw new InvalidDataException($"the model has an input '{name}'; Guard feeds only {string.Join(", ", FedInputs)}");
            }
            if (meta.ElementDataType != TensorElementType.Int64 || meta.Dimensions.Length != 2)
            {
                throw new InvalidDataException($"model input '{name}' must be int64 [batch, sequence], not {meta.ElementDataType} of rank {meta.Dimensions.Length}");
            }
        }
        if (!session.InputMetadata.TryGetValue("input_ids", out var ids))
        {
            throw new InvalidDataException($"the model has no 'input_ids' input (inputs: {string.Join(", ", session.InputMetadata.Keys)})");
        }
        _fixedSequence = ids.Dimensions[1] > 0 ? ids.Dimensions[1] : 0;
        _feedMask = session.InputMetadata.ContainsKey("attention_mask");
        _feedTypes = session.InputMetadata.ContainsKey("token_type_ids");
        _output = session.OutputMetadata.ContainsKey("logits") ? "logits"
            : session.OutputMetadata.Count == 1 ? session.OutputMetadata.Keys.First()
            : throw new InvalidDataException($"the model has several outputs and none named 'logits' ({string.Join(", ", session.OutputMetadata.Keys)})");
        var output = session.OutputMetadata[_output];
        if (output.ElementDataType != TensorElementType.Float || output.Dimensions.Length != 3)
        {
            throw new InvalidDataException($"model output '{_output}' must be float [batch, sequence, labels], not {output.ElementDataType} of rank {output.Dimensions.Length}");
        }
        OutputLabels = output.Dimensions[2];
    }

    /// <summary>The model's label dimension when its graph fixes it; -1 when symbolic.</summary>
    public int OutputLabels { get; }

    /// <summary>The sequence length the graph fixes for <c>input_ids</c>, or 0 when it is symbolic.</summary>
    public int FixedSequence => _fixedSequence;

    /// <summary>ONNX Runtime runs so far (one per batch of windows): how tests see that windows are batched.</summary>
    public long Runs => Interlocked.Read(ref _runs);

    /// <summary>
    /// The model for these files, loaded once per (path, size, modification time, tokenizer options)
    /// for the life of the process. Models and vocabularies are untrusted: a file ONNX Runtime or the
    /// tokenizer refuses comes back as <see cref="InvalidDataException"/> with their message.
    /// </summary>
    public static NerModel Load(string modelPath, string vocabPath, bool lowercase)
    {
        var model = new FileInfo(modelPath);
        var vocab = new FileInfo(vocabPath);
        var key = $"{model.FullName}|{model.Length}|{model.LastWriteTimeUtc.Ticks}|{vocab.FullName}|{vocab.Length}|{vocab.LastWriteTimeUtc.Ticks}|{lowercase}";
        var lazy = Cache.GetOrAdd(key, _ => new Lazy<NerModel>(() => Create(model.FullName, vocab.FullName, lowercase)));
        try
        {
            return lazy.Value;
        }
        catch
        {
            // A failed load is not cached: the deployment may fix the file and reload.
            Cache.TryRemove(new KeyValuePair<string, Lazy<NerModel>>(key, lazy));
            throw;
        }
    }

    private static NerModel Create(string modelPath, string vocabPath, bool lowercase)
    {
        BertTokenizer tokenizer;
        try
        {
            tokenizer = BertTokenizer.Create(vocabPath, new BertOptions
            {
                LowerCaseBeforeTokenization = lowercase,
                // Accents are stripped exactly when lower-casing, as BERT's tokenizer does by default.
                RemoveNonSpacingMarks = lowercase,
            });
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            throw new InvalidDataException($"vocabulary '{vocabPath}' is not a WordPiece vocab.txt with [CLS], [SEP], [PAD] and [UNK]: {e.Message}", e);
        }
        InferenceSession session;
        try
        {
            // One intra-op thread a run: concurrent checks run side by side rather than fight over cores.
            using var options = new Microsoft.ML.OnnxRuntime.SessionOptions { IntraOpNumThreads = 1 };
            session = new InferenceSession(modelPath, options);
        }
        catch (OnnxRuntimeException e)
        {
            throw new InvalidDataException($"ONNX Runtime cannot load '{modelPath}': {e.Message}", e);
        }
        try
        {
            return new NerModel(session, tokenizer, lowercase);
        }
        catch
        {
            session.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The WordPiece ids of one word (no special tokens); empty when normalisation leaves nothing of it
    /// (control characters, lone combining marks).
    /// </summary>
    public IReadOnlyList<int> Pieces(ReadOnlySpan<char> word)
    {
        var text = WithoutControls(word);
        if (_stripAccents)
        {
            // BERT strips accents from the NFD form ("é" → "e" + U+0301 → "e"); the tokenizer's
            // normaliser drops only the marks it is given. Under InvariantGlobalization (Mesh's
            // build) .NET has no decomposition data and returns the text as is, so a precomposed "é"
            // stays; decomposed input is stripped either way (README, NER).
            text = text.Normalize(NormalizationForm.FormD);
        }
        var ids = _tokenizer.EncodeToIds(text, addSpecialTokens: false, considerPreTokenization: true, considerNormalization: true);
        // The library drops a word it has no piece for (an emoji); BERT gives such a word [UNK],
        // and the model was trained to see one there.
        return ids.Count == 0 && HasVisible(text) ? [_tokenizer.UnknownTokenId] : ids;
    }

    // BERT's _clean_text deletes control and format characters without splitting the word
    // ("Al\u200Bice" is "alice"); the library's pre-tokenizer would split there instead.
    private static string WithoutControls(ReadOnlySpan<char> word)
    {
        var builder = new StringBuilder(word.Length);
        foreach (var r in word.EnumerateRunes())
        {
            if (Rune.GetUnicodeCategory(r) is not (System.Globalization.UnicodeCategory.Control or System.Globalization.UnicodeCategory.Format))
            {
                builder.Append(r.ToString());
            }
        }
        return builder.ToString();
    }

    private static bool HasVisible(string word)
    {
        foreach (var r in word.EnumerateRunes())
        {
            if (Rune.GetUnicodeCategory(r) is not (System.Globalization.UnicodeCategory.Control or System.Globalization.UnicodeCategory.Format
                or System.Globalization.UnicodeCategory.NonSpacingMark))
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>
    /// Logits for each window of piece ids: <paramref name="windows"/>[w] holds the ids without
    /// [CLS]/[SEP]; the result's [w][i] is the logits row (length labels) of piece i of window w.
    /// </summary>
    /// <exception cref="InvalidDataException">The model's output does not have the shape it declared.</exception>
    /// <exception cref="OperationCanceledException">The check was cancelled, also mid-run.</exception>
    public float[][][] Run(IReadOnlyList<ArraySegment<int>> windows, int labels, CancellationToken cancellationToken)
    {
        var result = new float[windows.Count][][];
        for (var start = 0; start < windows.Count; start += MaxBatch)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var count = Math.Min(MaxBatch, windows.Count - start);
            RunBatch(windows, start, count, labels, result, cancellationToken);
        }
        return result;
    }

    private void RunBatch(IReadOnlyList<ArraySegment<int>> windows, int start, int count, int labels, float[][][] result, CancellationToken cancellationToken)
    {
        var longest = 0;
        for (var w = 0; w < count; w++)
        {
            longest = Math.Max(longest, windows[start + w].Count + 2);
        }
        var sequence = _fixedSequence > 0 ? _fixedSequence : longest;
        var ids = new long[count * sequence];
        var mask = new long[count * sequence];
        Array.Fill(ids, _tokenizer.PaddingTokenId);
        for (var w = 0; w < count; w++)
        {
            var window = windows[start + w];
            var row = w * sequence;
            ids[row] = _tokenizer.ClassificationTokenId;
            for (var i = 0; i < window.Count; i++)
            {
                ids[row + 1 + i] = window[i];
            }
            ids[row + 1 + window.Count] = _tokenizer.SeparatorTokenId;
            Array.Fill(mask, 1L, row, window.Count + 2);
        }
        var inputs = new List<NamedOnnxValue> { NamedOnnxValue.CreateFromTensor("input_ids", new DenseTensor<long>(ids, [count, sequence])) };
        if (_feedMask)
        {
            inputs.Add(NamedOnnxValue.CreateFromTensor("attention_mask", new DenseTensor<long>(mask, [count, sequence])));
        }
        if (_feedTypes)
        {
            inputs.Add(NamedOnnxValue.CreateFromTensor("token_type_ids", new DenseTensor<long>(new long[count * sequence], [count, sequence])));
        }
        using var runOptions = new RunOptions();
        using var registration = cancellationToken.Register(() => runOptions.Terminate = true);
        IDisposableReadOnlyCollection<DisposableNamedOnnxValue> outputs;
        try
        {
            outputs = _session.Run(inputs, [_output], runOptions);
        }
        catch (OnnxRuntimeException) when (cancellationToken.IsCancellationRequested)
        {
            // A terminated run is the caller's cancellation (CANCELLED), not a fault.
            throw new OperationCanceledException(cancellationToken);
        }
        Interlocked.Increment(ref _runs);
        using (outputs)
        {
            var logits = outputs.First().AsTensor<float>();
            var dims = logits.Dimensions;
            if (dims.Length != 3 || dims[0] != count || dims[1] != sequence || dims[2] != labels)
            {
                throw new InvalidDataException($"the NER model returned logits of shape [{string.Join(", ", dims.ToArray())}] for input [{count}, {sequence}]; expected [{count}, {sequence}, {labels}]");
            }
            var dense = logits.ToDenseTensor().Buffer.Span;
            for (var w = 0; w < count; w++)
            {
                var window = windows[start + w];
                var rows = new float[window.Count][];
                for (var i = 0; i < window.Count; i++)
                {
                    // Position 0 is [CLS]: piece i sits at i + 1.
                    rows[i] = dense.Slice(((w * sequence) + i + 1) * labels, labels).ToArray();
                }
                result[start + w] = rows;
            }
        }
    }
}
