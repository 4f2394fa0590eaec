using Mesh.Inference.Models.Gguf;
using Mesh.Inference.Models.Llama2c;
using Mesh.Inference.Tokenization;

namespace Mesh.Inference.Models;

/// <summary>
/// A loaded Llama-family model: hyperparameters, weights (in the file mapping), and the tokenizer
/// built from the same file. Loads GGUF files (v2/v3, architecture <c>llama</c>) and llama2.c
/// checkpoints with their tokenizer file.
/// </summary>
public sealed class LlamaModel : IDisposable
{
    private readonly IDisposable _storage;

    private LlamaModel(string id, string path, string format, LlamaConfig config, LlamaWeights weights, ITokenizer tokenizer, IDisposable storage)
    {
        Id = id;
        Path = path;
        Format = format;
        Config = config;
        Weights = weights;
        Tokenizer = tokenizer;
        _storage = storage;
        var types = weights.Matrices.Select(m => m.Type).Distinct().ToArray();
        WeightType = types.Length == 1 ? types[0].ToString() : "mixed";
    }

    public string Id { get; }

    public string Path { get; }

    /// <summary>"gguf" or "llama2c".</summary>
    public string Format { get; }

    public LlamaConfig Config { get; }

    public LlamaWeights Weights { get; }

    /// <summary>SentencePiece or byte-level BPE, as the file says (<see cref="TokenizerMetadata.ReadTokenizer"/>).</summary>
    public ITokenizer Tokenizer { get; }

    /// <summary>The matrices' storage type ("F32", "Q8_0", …) or "mixed".</summary>
    public string WeightType { get; }

    /// <summary>
    /// Loads <paramref name="path"/>. A llama2.c checkpoint needs its tokenizer file: given, or found
    /// next to the checkpoint as <c>tok{vocab}.bin</c> or <c>tokenizer.bin</c>.
    /// </summary>
    public static LlamaModel Load(string path, string? tokenizerPath = null, string? id = null)
    {
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"model file not found: {path}", path);
        }

        id ??= System.IO.Path.GetFileNameWithoutExtension(path);
        if (IsGguf(path))
        {
            var gguf = GgufFile.Open(path);
            try
            {
                var (config, weights) = GgufLlamaReader.Read(gguf);
                var tokenizer = tokenizerPath is null
                    ? TokenizerMetadata.ReadTokenizer(gguf)
                    : LoadTokenizerFile(tokenizerPath, config.VocabSize);
                CheckVocabulary(path, config, tokenizer);
                return new LlamaModel(id, path, "gguf", config, weights, tokenizer, gguf);
            }
            catch
            {
                gguf.Dispose();
                throw;
            }
        }

        var file = new MappedFile(path);
        try
        {
            var (config, weights) = Llama2cCheckpoint.Read(file);
            tokenizerPath ??= FindLlama2cTokenizer(path, config.VocabSize);
            var tokenizer = LoadTokenizerFile(tokenizerPath, config.VocabSize);
            CheckVocabulary(path, config, tokenizer);
            return new LlamaModel(id, path, "llama2c", config, weights, tokenizer, file);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    public void Dispose() => _storage.Dispose();

    private static bool IsGguf(string path)
    {
        Span<byte> magic = stackalloc byte[4];
        using var stream = File.OpenRead(path);
        return stream.Read(magic) == 4 && magic.SequenceEqual("GGUF"u8);
    }

    private static SentencePieceTokenizer LoadTokenizerFile(string path, int vocabSize)
    {
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"tokenizer file not found: {path}", path);
        }

        // A SentencePiece model is a protobuf; a llama2.c tokenizer file starts with an int32 length.
        return path.EndsWith(".model", StringComparison.OrdinalIgnoreCase)
            ? SentencePieceTokenizer.FromModelFile(path)
            : SentencePieceTokenizer.Create(Llama2cTokenizerReader.Read(path, vocabSize));
    }

    private static string FindLlama2cTokenizer(string modelPath, int vocabSize)
    {
        var folder = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(modelPath))!;
        foreach (var name in new[] { $"tok{vocabSize}.bin", "tokenizer.bin" })
        {
            var candidate = System.IO.Path.Combine(folder, name);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new ModelFormatException(modelPath, "tokenizer", $"a llama2.c checkpoint needs its tokenizer file: pass --tokenizer, or put tok{vocabSize}.bin next to the model");
    }

    private static void CheckVocabulary(string path, LlamaConfig config, ITokenizer tokenizer)
    {
        if (tokenizer.VocabSize != config.VocabSize)
        {
            throw new ModelFormatException(path, "vocab_size", $"the model has {config.VocabSize} tokens but its tokenizer {tokenizer.VocabSize}");
        }
    }
}
