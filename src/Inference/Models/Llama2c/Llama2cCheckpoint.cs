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

    public static (LlamaConfig Config, LlamaWeights Weights) Read(MappedFile file)
    {
        var path = file.Path;
        if (file.Length < HeaderBytes)
        {
            throw new ModelFormatException(path, "header", $"file is {file.Length} bytes, shorter than the 28-byte llama2.c header");
        }

        var header = new ReadOnlySpan<int>(file.Pointer, 7);
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
}
