using System.Collections.Concurrent;
using LLama;
using LLama.Native;
using Mesh.Inference.Models;
using Mesh.Inference.Models.Gguf;
using Mesh.Inference.Tests.Tokenization;

namespace Mesh.Inference.Tests.Quantization;

/// <summary>
/// A small F32 Llama GGUF with random weights (stories260K's 512-token vocabulary; dim 256 and FFN
/// 512 so that every matrix row is whole 256-value K-quant super-blocks), and the files llama.cpp's
/// own quantizer (LLamaSharp's <see cref="LLamaQuantizer"/>) writes from it, made once per file type.
/// </summary>
public sealed class QuantizedModelsFixture : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("mesh-quants-").FullName;
    private readonly ConcurrentDictionary<LLamaFtype, Lazy<string>> _files = new();
    private readonly Lazy<string> _f32;

    public QuantizedModelsFixture()
    {
        _f32 = new(() =>
        {
            var vocabulary = TokenizerModelsFixture.FromGguf(TestModels.Stories260KGguf).Vocabulary;
            var path = Path.Combine(_folder, "random-F32.gguf");
            // A classifier gain of 6 spreads the logits (std ≈ 3.5) so the next-token distribution
            // is peaked, as a trained model's is, and the NLL depends visibly on every weight.
            SyntheticLlamaGguf.Write(path, Config(vocabulary.Pieces.Count), vocabulary, GgmlType.F32, seed: 7, tiedClassifier: false, classifierGain: 6f);
            return path;
        });
    }

    public static LlamaConfig Config(int vocabSize) =>
        new(Dim: 256, HiddenDim: 512, Layers: 2, Heads: 4, KvHeads: 2, VocabSize: vocabSize, ContextLength: 128, NormEpsilon: 1e-5f, RopeTheta: 10000f);

    /// <summary>The F32 source file.</summary>
    public string F32 => _f32.Value;

    /// <summary>The file llama.cpp writes for <paramref name="type"/> (output tensor quantized too, as the llama-quantize tool does).</summary>
    public string Get(LLamaFtype type) => _files.GetOrAdd(type, t => new Lazy<string>(() =>
    {
        var path = Path.Combine(_folder, $"random-{t}.gguf");
        // The quantizer's P/Invoke does not load the native library itself; NativeApi's first call does.
        NativeApi.llama_empty_call();
        if (!LLamaQuantizer.Quantize(F32, path, t, nthread: 2, allowRequantize: true, quantizeOutputTensor: true))
        {
            throw new InvalidOperationException($"llama.cpp failed to quantize to {t}");
        }

        return path;
    })).Value;

    public void Dispose() => Directory.Delete(_folder, recursive: true);
}
