using Mesh.Inference.Models.Gguf;
using Mesh.Inference.Tokenization;

namespace Mesh.Inference.Tests.Tokenization;

/// <summary>
/// The real byte-level BPE vocabularies as GGUF files, one per pre-tokenizer under test, each with Mesh's
/// tokenizer and llama.cpp's; built once per test run.
/// </summary>
public sealed class BpeTokenizerFixture : IDisposable
{
    private readonly Lazy<TiktokenVocabulary> _gpt2 = new(TiktokenVocabulary.Gpt2);
    private readonly Lazy<TiktokenVocabulary> _cl100k = new(TiktokenVocabulary.Cl100k);
    private readonly Lazy<TiktokenVocabulary> _o200k = new(TiktokenVocabulary.O200k);
    private readonly Dictionary<string, (ByteLevelBpeTokenizer Mesh, LlamaCppTokenizer LlamaCpp, string Path)> _loaded = [];
    private readonly Lazy<IReadOnlyList<string>> _corpus = new(() => BpeCorpus.Create());

    /// <summary>The parity strings: the shared corpus plus the BPE-specific cases.</summary>
    public IReadOnlyList<string> Corpus => _corpus.Value;

    internal TiktokenVocabulary Vocabulary(string name) => name switch
    {
        "gpt2" => _gpt2.Value,
        "cl100k" => _cl100k.Value,
        "o200k" => _o200k.Value,
        _ => throw new ArgumentException(name, nameof(name)),
    };

    /// <summary>Mesh's tokenizer and llama.cpp's for <paramref name="vocabulary"/> with pre-tokenizer <paramref name="pre"/>.</summary>
    internal (ByteLevelBpeTokenizer Mesh, LlamaCppTokenizer LlamaCpp, string Path) Get(string vocabulary, string pre)
    {
        lock (_loaded)
        {
            string key = vocabulary + "/" + pre;
            if (!_loaded.TryGetValue(key, out var pair))
            {
                string path = BpeGgufFile.Write(Vocabulary(vocabulary), pre);
                using var gguf = GgufFile.Open(path);
                pair = ((ByteLevelBpeTokenizer)TokenizerMetadata.ReadTokenizer(gguf), new LlamaCppTokenizer(path), path);
                _loaded[key] = pair;
            }

            return pair;
        }
    }

    public void Dispose()
    {
        foreach (var (_, llamaCpp, _) in _loaded.Values)
        {
            llamaCpp.Dispose();
        }
    }
}
