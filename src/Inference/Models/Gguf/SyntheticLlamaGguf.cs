using Mesh.Inference.Tokenization;

namespace Mesh.Inference.Models.Gguf;

/// <summary>
/// Writes a Llama-shaped GGUF file with random weights: the benchmarks' stand-in for a real model of
/// a given size (the "110M" shape is llama2.c's stories110M: dim 768, 12 layers, 12 heads, FFN 2048,
/// 32,000 tokens), and the tests' small models of every weight type. Weights are uniform in
/// ±1/sqrt(fan-in), so activations stay in a realistic range through the layers.
/// </summary>
public static class SyntheticLlamaGguf
{
    /// <summary>llama2.c's stories110M shape.</summary>
    public static LlamaConfig Shape110M(int vocabSize, int context = 1024) =>
        new(Dim: 768, HiddenDim: 2048, Layers: 12, Heads: 12, KvHeads: 12, VocabSize: vocabSize, ContextLength: context, NormEpsilon: 1e-5f, RopeTheta: 10000f);

    /// <summary>
    /// Writes a model of <paramref name="config"/>'s shape with seeded random weights to
    /// <paramref name="path"/>; the same seed gives the same file. Throws
    /// <see cref="ArgumentException"/> when the vocabulary's size is not the config's.
    /// </summary>
    /// <param name="path">The file to create (replaced if present).</param>
    /// <param name="config">The shape: dim, FFN, layers, heads, vocabulary, context.</param>
    /// <param name="vocabulary">The SentencePiece vocabulary written as the tokenizer.</param>
    /// <param name="matrixType">Storage type of the matrices (F32, F16, BF16 or Q8_0).</param>
    /// <param name="seed">Seed of the weights' generator.</param>
    /// <param name="tiedClassifier">Whether the classifier is the token embedding (no <c>output.weight</c>).</param>
    /// <param name="classifierGain">
    /// Multiplies the classifier's weights (untied only): a gain of a few makes the logits spread
    /// like a trained model's, so greedy choices have clear margins instead of near-ties.
    /// </param>
    public static void Write(string path, LlamaConfig config, SentencePieceVocabulary vocabulary, GgmlType matrixType, ulong seed, bool tiedClassifier = true, float classifierGain = 1f)
    {
        if (vocabulary.Pieces.Count != config.VocabSize)
        {
            throw new ArgumentException($"the vocabulary has {vocabulary.Pieces.Count} tokens, the config {config.VocabSize}", nameof(vocabulary));
        }

        var w = LlamaGgufExporter.Header(config, vocabulary, $"synthetic-{config.Dim}x{config.Layers}");
        AddRandomWeights(w, config, matrixType, seed, tiedClassifier, classifierGain);
        w.Write(path);
    }

    /// <summary>
    /// Adds the <c>llama</c> tensors of <paramref name="config"/> with random weights to a writer that holds
    /// the header, for files whose tokenizer metadata <see cref="LlamaGgufExporter.Header"/> does not write
    /// (byte-level BPE vocabularies in the tests). <paramref name="classifierGain"/> as in <see cref="Write"/>.
    /// </summary>
    public static void AddRandomWeights(GgufWriter w, LlamaConfig config, GgmlType matrixType, ulong seed, bool tiedClassifier = true, float classifierGain = 1f)
    {
        var tensor = 0UL;
        float[] Random(int rows, int cols, float scale)
        {
            var state = (seed * 0x9E3779B97F4A7C15UL) ^ (++tensor * 0xBF58476D1CE4E5B9UL) | 1;
            var data = new float[(long)rows * cols];
            for (long i = 0; i < data.LongLength; i++)
            {
                // xorshift64*: fast, deterministic, good enough for weights.
                state ^= state >> 12;
                state ^= state << 25;
                state ^= state >> 27;
                var bits = (state * 0x2545F4914F6CDD1DUL) >> 40;
                data[i] = ((bits / (float)(1 << 24) * 2) - 1) * scale;
            }

            return data;
        }

        float[] Ones(int n) => Enumerable.Repeat(1f, n).ToArray();

        int dim = config.Dim, hidden = config.HiddenDim, kv = config.KvDim;
        var inScale = 1f / MathF.Sqrt(dim);
        var hiddenScale = 1f / MathF.Sqrt(hidden);
        w.AddTensor("token_embd.weight", config.VocabSize, dim, matrixType, () => Random(config.VocabSize, dim, 1f));
        for (var l = 0; l < config.Layers; l++)
        {
            var p = $"blk.{l}.";
            w.AddTensor(p + "attn_norm.weight", 1, dim, GgmlType.F32, () => Ones(dim));
            w.AddTensor(p + "attn_q.weight", dim, dim, matrixType, () => Random(dim, dim, inScale));
            w.AddTensor(p + "attn_k.weight", kv, dim, matrixType, () => Random(kv, dim, inScale));
            w.AddTensor(p + "attn_v.weight", kv, dim, matrixType, () => Random(kv, dim, inScale));
            w.AddTensor(p + "attn_output.weight", dim, dim, matrixType, () => Random(dim, dim, inScale));
            w.AddTensor(p + "ffn_norm.weight", 1, dim, GgmlType.F32, () => Ones(dim));
            w.AddTensor(p + "ffn_gate.weight", hidden, dim, matrixType, () => Random(hidden, dim, inScale));
            w.AddTensor(p + "ffn_down.weight", dim, hidden, matrixType, () => Random(dim, hidden, hiddenScale));
            w.AddTensor(p + "ffn_up.weight", hidden, dim, matrixType, () => Random(hidden, dim, inScale));
        }

        w.AddTensor("output_norm.weight", 1, dim, GgmlType.F32, () => Ones(dim));
        if (!tiedClassifier)
        {
            w.AddTensor("output.weight", config.VocabSize, dim, matrixType, () => Random(config.VocabSize, dim, inScale * classifierGain));
        }
    }
}
