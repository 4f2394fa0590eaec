using Mesh.Inference.Models.Gguf;
using Mesh.Inference.Models.HuggingFace;
using Mesh.Inference.Models.Llama2c;
using Mesh.Inference.Tokenization;
using Microsoft.Extensions.Logging;

namespace Mesh.Inference.Models;

/// <summary>
/// A loaded Llama-family model: hyperparameters, weights (in the file mappings), and the tokenizer
/// built from the same file. Loads GGUF files (v2/v3, architectures <c>llama</c>, <c>qwen2</c>,
/// <c>qwen3</c>), Hugging Face directories (config.json + safetensors + tokenizer.json) and llama2.c
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

    /// <summary>
    /// The id requests name the model by: the configured one, else the file or directory name without extension.
    /// </summary>
    public string Id { get; }

    /// <summary>The file or directory it was loaded from (never sent to callers).</summary>
    public string Path { get; }

    /// <summary>"gguf", "huggingface" or "llama2c".</summary>
    public string Format { get; }

    /// <summary>Hyperparameters: shapes, context length, vocabulary size, RoPE and norm settings.</summary>
    public LlamaConfig Config { get; }

    /// <summary>
    /// The weights, in the storage (usually the file mapping) this model owns until <see cref="Dispose"/>.
    /// </summary>
    public LlamaWeights Weights { get; }

    /// <summary>SentencePiece or byte-level BPE, as the file says (<see cref="TokenizerMetadata.ReadTokenizer"/>).</summary>
    public ITokenizer Tokenizer { get; }

    /// <summary>The matrices' storage type ("F32", "Q8_0", …) or "mixed".</summary>
    public string WeightType { get; }

    /// <summary>
    /// Loads <paramref name="path"/>: a GGUF file, a llama2.c checkpoint, or a Hugging Face model
    /// directory. A llama2.c checkpoint needs its tokenizer file: given, or found next to the
    /// checkpoint as <c>tok{vocab}.bin</c> or <c>tokenizer.bin</c>. Files larger than the memory
    /// available are refused before they are read; the weights go where <paramref name="memory"/> says
    /// (<see cref="WeightMemory"/>: by default copied onto huge pages where Linux offers them, else mapped
    /// and then paged in), with progress on <paramref name="logger"/> for large models.
    /// </summary>
    public static LlamaModel Load(string path, string? tokenizerPath = null, string? id = null, ILogger? logger = null, WeightMemory memory = WeightMemory.Auto)
    {
        // Resolved once, so the copy and what follows it agree on where the weights went.
        memory = MappedFile.Resolve(memory);
        var model = LoadWeights(path, tokenizerPath, id, memory, logger);
        if (memory == WeightMemory.HugePages)
        {
            // The copy has touched every page already: nothing to page in, but say how many are huge.
            ModelMemory.LogHugePages(model.Weights.Matrices, model.Id, logger);
        }
        else
        {
            ModelMemory.PageIn(model.Weights.Matrices, model.Id, logger);
        }

        return model;
    }

    private static LlamaModel LoadWeights(string path, string? tokenizerPath, string? id, WeightMemory memory, ILogger? logger)
    {
        if (Directory.Exists(path))
        {
            return LoadHuggingFace(path, tokenizerPath, id, memory, logger);
        }

        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"model file not found: {path}", path);
        }

        var length = MappedFile.FileLength(path);
        ModelMemory.EnsureFits(path, length, ModelMemory.AvailableBytes());
        id ??= System.IO.Path.GetFileNameWithoutExtension(path);
        var progress = ModelMemory.CopyProgress(id, length, logger);
        if (IsGguf(path))
        {
            var gguf = GgufFile.Open(path, memory, progress);
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

        var file = new MappedFile(path, memory, progress);
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

    /// <summary>Unmaps the model's files; <see cref="Weights"/> must not be used afterwards.</summary>
    public void Dispose() => _storage.Dispose();

    private static LlamaModel LoadHuggingFace(string directory, string? tokenizerPath, string? id, WeightMemory memory, ILogger? logger)
    {
        if (!HuggingFaceModelReader.IsModelDirectory(directory))
        {
            throw new ModelFormatException(directory, "config.json", "a model directory needs a Hugging Face config.json (or pass a .gguf file)");
        }

        var bytes = HuggingFaceModelReader.WeightFiles(directory).Sum(f => File.Exists(f) ? MappedFile.FileLength(f) : throw new FileNotFoundException($"weight file not found: {f}", f));
        ModelMemory.EnsureFits(directory, bytes, ModelMemory.AvailableBytes());
        id ??= new DirectoryInfo(directory).Name;
        var modelId = id;
        var hf = HuggingFaceModelReader.Read(directory, memory, file => ModelMemory.CopyProgress($"{modelId} ({System.IO.Path.GetFileName(file)})", MappedFile.FileLength(file), logger));
        try
        {
            var tokenizer = tokenizerPath is null ? hf.Tokenizer : LoadTokenizerFile(tokenizerPath, hf.Config.VocabSize);
            CheckVocabulary(directory, hf.Config, tokenizer);
            return new LlamaModel(id, directory, "huggingface", hf.Config, hf.Weights, tokenizer, hf.Storage);
        }
        catch
        {
            hf.Storage.Dispose();
            throw;
        }
    }

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
