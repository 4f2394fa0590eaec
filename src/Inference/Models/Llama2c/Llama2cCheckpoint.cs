using Mesh.Inference.Models.Gguf;

namespace Mesh.Inference.Models.Llama2c;

/// <summary>
/// Reads llama2.c checkpoints in the legacy (version 0) layout that <c>run.c</c> reads: seven int32
/// header fields (dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size, seq_len; a negative
/// vocab_size means the classifier is not shared with the embedding), then every weight in f32 in a
/// fixed order, including two RoPE frequency tables that Mesh recomputes and skips. The file is
/// mapped, not copied.
/// </summary>
public static unsafe class Llama2cCheckpoint
{
    private const int HeaderBytes = 7 * sizeof(int);

    /// <summary>
    /// The config and weights of the mapped checkpoint <paramref name="file"/> (llama2.c's
    /// <c>read_checkpoint</c> layout); the weights point into the mapping. A header out of range, or a file
    /// whose size does not match the weights the header implies, is a <see cref="ModelFormatException"/>.
    /// </summary>
    public static (LlamaConfig Config, LlamaWeights Weights) Read(MappedFile file)
    {
        var path = file.Path;
        if (file.Length < HeaderBytes)
        {
            throw new ModelFormatException(path, "header", $"file is {file.Length} bytes, shorter than the 28-byte llama2.c header");
        }

        var header = new ReadOnlySpan<int>(file.Pointer, 7);
        CheckPlausible(file, header);
        var sharedClassifier = header[5] > 0;
        var config = new LlamaConfig(
            Dim: header[0],
            HiddenDim: header[1],
            Layers: header[2],
            Heads: header[3],
            KvHeads: header[4],
            VocabSize: Math.Abs(header[5]),
            ContextLength: header[6],
            NormEpsilon: 1e-5f,
            RopeTheta: 10000f);
        config.Validate(path);

        long offset = HeaderBytes;
        WeightMatrix Matrix(string name, int rows, int cols)
        {
            var bytes = (long)rows * cols * sizeof(float);
            if (offset + bytes > file.Length)
            {
                throw new ModelFormatException(path, name, $"file ends at byte {file.Length} but the tensor needs [{offset}, {offset + bytes}) (truncated, or the header does not match the weights)");
            }

            var m = new WeightMatrix(name, GgmlType.F32, rows, cols, (nint)(file.Pointer + offset));
            offset += bytes;
            return m;
        }

        float[] Vector(string name, int length) => new ReadOnlySpan<float>((void*)Matrix(name, 1, length).Data, length).ToArray();

        int dim = config.Dim, kvDim = config.KvDim, hidden = config.HiddenDim, layers = config.Layers;
        var embedding = Matrix("token_embedding_table", config.VocabSize, dim);
        // Weights of the same kind are stored for all layers together: read them kind by kind.
        var attNorm = Enumerable.Range(0, layers).Select(l => Vector($"rms_att_weight[{l}]", dim)).ToArray();
        var wq = Enumerable.Range(0, layers).Select(l => Matrix($"wq[{l}]", dim, dim)).ToArray();
        var wk = Enumerable.Range(0, layers).Select(l => Matrix($"wk[{l}]", kvDim, dim)).ToArray();
        var wv = Enumerable.Range(0, layers).Select(l => Matrix($"wv[{l}]", kvDim, dim)).ToArray();
        var wo = Enumerable.Range(0, layers).Select(l => Matrix($"wo[{l}]", dim, dim)).ToArray();
        var ffnNorm = Enumerable.Range(0, layers).Select(l => Vector($"rms_ffn_weight[{l}]", dim)).ToArray();
        var w1 = Enumerable.Range(0, layers).Select(l => Matrix($"w1[{l}]", hidden, dim)).ToArray();
        var w2 = Enumerable.Range(0, layers).Select(l => Matrix($"w2[{l}]", dim, hidden)).ToArray();
        var w3 = Enumerable.Range(0, layers).Select(l => Matrix($"w3[{l}]", hidden, dim)).ToArray();
        var finalNorm = Vector("rms_final_weight", dim);
        // freq_cis_real and freq_cis_imag: [seq_len, head_dim / 2] each, recomputed at run time.
        Matrix("freq_cis_real", config.ContextLength, config.HeadDim / 2);
        Matrix("freq_cis_imag", config.ContextLength, config.HeadDim / 2);
        var classifier = sharedClassifier ? embedding : Matrix("wcls", config.VocabSize, dim);

        var layerWeights = Enumerable.Range(0, layers)
            .Select(l => new LayerWeights(attNorm[l], wq[l], wk[l], wv[l], wo[l], ffnNorm[l], w1[l], w2[l], w3[l]))
            .ToArray();
        return (config, new LlamaWeights(embedding, layerWeights, finalNorm, classifier));
    }

    /// <summary>
    /// The bytes a legacy llama2.c checkpoint with this header occupies: the header, every f32 weight
    /// in run.c's order, the two RoPE tables, and the classifier when it is not shared. Null when a
    /// header field is out of the range any llama2.c model has (so the file is something else).
    /// </summary>
    public static long? ExpectedLength(ReadOnlySpan<int> header)
    {
        int dim = header[0], hidden = header[1], layers = header[2], heads = header[3], kvHeads = header[4], seqLen = header[6];
        var vocab = Math.Abs((long)header[5]);
        if (dim is <= 0 or > 1 << 16 || hidden is <= 0 or > 1 << 18 || layers is <= 0 or > 1024
            || heads <= 0 || heads > dim || dim % heads != 0 || kvHeads <= 0 || kvHeads > heads
            || vocab is 0 or > 1 << 22 || seqLen is <= 0 or > 1 << 22)
        {
            return null;
        }

        long headDim = dim / heads, kvDim = kvHeads * headDim;
        var perLayer = (2L * dim) + (2L * dim * dim) + (2L * dim * kvDim) + (3L * dim * hidden);
        var floats = (vocab * dim) + (layers * perLayer) + dim + (seqLen * (headDim / 2) * 2) + (header[5] > 0 ? 0 : vocab * dim);
        return HeaderBytes + (floats * sizeof(float));
    }

    /// <summary>
    /// A file that is neither GGUF nor llama2.c used to fall through to a confusing hyperparameter
    /// error; only a header with plausible fields and a size that matches the weights is taken as a
    /// checkpoint (a shorter file is reported as truncated at the tensor that is cut).
    /// </summary>
    private static void CheckPlausible(MappedFile file, ReadOnlySpan<int> header)
    {
        var expected = ExpectedLength(header);
        var magic = new ReadOnlySpan<byte>(file.Pointer, 4);
        if (expected is null)
        {
            throw new ModelFormatException(file.Path, "magic", $"not a GGUF or llama2.c file: {DescribeMagic(magic)}, and the first 28 bytes are not a plausible llama2.c header ([{string.Join(", ", header.ToArray())}])");
        }

        if (file.Length > expected)
        {
            throw new ModelFormatException(file.Path, "header", $"not a GGUF or llama2.c file: as a llama2.c checkpoint its header [{string.Join(", ", header.ToArray())}] describes {expected} bytes, but the file has {file.Length}");
        }
    }

    private static string DescribeMagic(ReadOnlySpan<byte> magic)
    {
        var text = new string([.. magic.ToArray().Select(b => b is >= 0x20 and < 0x7F ? (char)b : '.')]);
        // The formats before GGUF (llama.cpp's GGML, GGMF, GGJT) start with their magic byte-reversed.
        return text is "lmgg" or "fmgg" or "tjgg"
            ? $"it starts with '{text}', the pre-GGUF GGML format (convert it to GGUF with llama.cpp's convert scripts)"
            : $"it starts with '{text}' (0x{Convert.ToHexString(magic)}), not 'GGUF'";
    }
}
