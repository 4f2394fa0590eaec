using System.Text;
using LLama;
using LLama.Common;

namespace Mesh.Inference.Tests.Tokenization;

/// <summary>
/// llama.cpp's own tokenizer for a GGUF file, through LLamaSharp with the CPU backend: the reference
/// the parity tests compare against. Loads the vocabulary only, so it is quick and small.
/// </summary>
internal sealed class LlamaCppTokenizer : IDisposable
{
    private readonly LLamaWeights _weights;

    public LlamaCppTokenizer(string ggufPath)
    {
        _weights = LLamaWeights.LoadFromFile(new ModelParams(ggufPath) { VocabOnly = true, GpuLayerCount = 0 });
    }

    /// <summary>The ids llama.cpp gives <paramref name="text"/>; special-token text is treated as plain text.</summary>
    public int[] Encode(string text, bool addBos) =>
        Array.ConvertAll(_weights.Tokenize(text, addBos, special: false, Encoding.UTF8), token => (int)token);

    /// <summary>llama.cpp's <c>llama_tokenize</c>: BOS/EOS as the vocabulary says when <paramref name="addSpecial"/>; control-token text parsed when <paramref name="parseSpecial"/>.</summary>
    public int[] Encode(string text, bool addSpecial, bool parseSpecial) =>
        Array.ConvertAll(_weights.Tokenize(text, addSpecial, parseSpecial, Encoding.UTF8), token => (int)token);

    public void Dispose() => _weights.Dispose();
}
