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

    /// <summary>llama.cpp's <c>llama_vocab_is_eog</c>.</summary>
    public bool IsEndOfGeneration(int id) => ((LLama.Native.LLamaToken)id).IsEndOfGeneration(_weights.NativeHandle.Vocab);

    /// <summary>llama.cpp's <c>llama_token_to_piece</c> without special tokens: the bytes a token adds to a text.</summary>
    public byte[] Piece(int id)
    {
        Span<byte> buffer = stackalloc byte[1024];
        int n = LLama.Native.NativeApi.llama_token_to_piece(_weights.NativeHandle.Vocab, (LLama.Native.LLamaToken)id, buffer, 0, false);
        return n >= 0 ? buffer[..n].ToArray() : throw new InvalidOperationException($"token {id}: piece longer than 1024 bytes");
    }

    public int VocabSize => _weights.NativeHandle.Vocab.Count;

    public void Dispose() => _weights.Dispose();
}
