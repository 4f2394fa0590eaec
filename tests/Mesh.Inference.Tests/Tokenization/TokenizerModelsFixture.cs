using Mesh.Inference.Models.Gguf;
using Mesh.Inference.Tokenization;

namespace Mesh.Inference.Tests.Tokenization;

/// <summary>The tokenizers and llama.cpp references under test, loaded once for all tokenizer tests.</summary>
public sealed class TokenizerModelsFixture : IDisposable
{
    private readonly Lazy<LlamaCppTokenizer> _stories260KLlamaCpp = new(() => new LlamaCppTokenizer(TestModels.Stories260KGguf));
    private readonly Lazy<LlamaCppTokenizer> _tinyRandomLlamaCpp = new(() => new LlamaCppTokenizer(TestModels.TinyRandomGguf));

    public TokenizerModelsFixture()
    {
        Stories260K = FromGguf(TestModels.Stories260KGguf);
        TinyRandom = FromGguf(TestModels.TinyRandomGguf);
        Corpus = TokenizerCorpus.Create(generatedCount: 3000);
    }

    /// <summary>stories260K's 512-token vocabulary, read from stories260K.gguf.</summary>
    public SentencePieceTokenizer Stories260K { get; }

    /// <summary>Llama 2's 32,000-token vocabulary, read from llama-2-tiny-random.gguf.</summary>
    public SentencePieceTokenizer TinyRandom { get; }

    /// <summary>The hand-picked and generated parity strings.</summary>
    public IReadOnlyList<string> Corpus { get; }

    internal LlamaCppTokenizer Stories260KLlamaCpp => _stories260KLlamaCpp.Value;

    internal LlamaCppTokenizer TinyRandomLlamaCpp => _tinyRandomLlamaCpp.Value;

    public static SentencePieceTokenizer FromGguf(string path)
    {
        using var gguf = GgufFile.Open(path);
        return SentencePieceTokenizer.Create(GgufTokenizerReader.Read(gguf));
    }

    public void Dispose()
    {
        if (_stories260KLlamaCpp.IsValueCreated)
        {
            _stories260KLlamaCpp.Value.Dispose();
        }

        if (_tinyRandomLlamaCpp.IsValueCreated)
        {
            _tinyRandomLlamaCpp.Value.Dispose();
        }
    }
}
