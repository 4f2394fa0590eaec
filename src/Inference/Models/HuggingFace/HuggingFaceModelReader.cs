using System.Text.Json;
using Mesh.Inference.Models.Gguf;
using Mesh.Inference.Models.SafeTensors;
using Mesh.Inference.Tokenization;

namespace Mesh.Inference.Models.HuggingFace;

/// <summary>
/// Loads a Hugging Face model directory as vLLM does: <c>config.json</c>, the weights in
/// <c>model.safetensors</c> or shards listed by <c>model.safetensors.index.json</c> (else every
/// <c>*.safetensors</c>), and <c>tokenizer.json</c>. Tensors are F32, F16 or BF16 and stay in the
/// file mappings (the GGML types of the same names have the same layout); norms and biases are
/// converted to f32. Tensor names are transformers' (<c>model.layers.{i}.self_attn.q_proj.weight</c>, …).
/// </summary>
public static class HuggingFaceModelReader
{
    /// <summary>A loaded directory; <paramref name="Storage"/> owns the mappings.</summary>
    public sealed record Result(LlamaConfig Config, LlamaWeights Weights, ITokenizer Tokenizer, IDisposable Storage);

    /// <summary>Whether <paramref name="directory"/> looks like a Hugging Face model directory.</summary>
    public static bool IsModelDirectory(string directory) => File.Exists(Path.Combine(directory, "config.json"));

    /// <summary>The safetensors files of <paramref name="directory"/>, from the shard index when there is one.</summary>
    public static IReadOnlyList<string> WeightFiles(string directory)
    {
        var index = Path.Combine(directory, "model.safetensors.index.json");
        if (File.Exists(index))
        {
            using var document = HuggingFaceConfig.Parse(index);
            if (!document.RootElement.TryGetProperty("weight_map", out var map) || map.ValueKind != JsonValueKind.Object)
            {
                throw new ModelFormatException(index, "weight_map", "is missing");
            }

            return map.EnumerateObject().Select(e => e.Value.GetString() ?? "").Distinct().Order(StringComparer.Ordinal)
                .Select(name => Path.GetFileName(name) == name && name.EndsWith(".safetensors", StringComparison.Ordinal) && name != ".."
                    ? Path.Combine(directory, name)
                    : throw new ModelFormatException(index, "weight_map", $"'{name}' is not a .safetensors file name inside the model directory"))
                .ToList();
        }

        var single = Path.Combine(directory, "model.safetensors");
        var files = File.Exists(single) ? [single] : Directory.GetFiles(directory, "*.safetensors").Order(StringComparer.Ordinal).ToList();
        return files.Count > 0 ? files : throw new ModelFormatException(directory, "model.safetensors", "the directory has no *.safetensors weights");
    }

    /// <summary>
    /// Reads <paramref name="directory"/>'s config, maps its weight files and builds its tokenizer. Every
    /// malformed or missing file, tensor or setting is a <see cref="ModelFormatException"/> naming it.
    /// The weight files' bytes go where <paramref name="memory"/> says (<see cref="MappedFile"/>), each
    /// file's copy reported to <paramref name="progress"/> (its path and the bytes so far).
    /// </summary>
    public static Result Read(string directory, WeightMemory memory = WeightMemory.Mapped, Func<string, IProgress<long>?>? progress = null)
    {
        var hf = HuggingFaceConfig.Read(Path.Combine(directory, "config.json"));
        var config = hf.Config;
        var files = new List<SafetensorsFile>();
        var storage = new CompositeDisposable(files);
        try
        {
            var tensors = new Dictionary<string, (SafetensorsFile File, SafetensorsTensor Tensor)>(StringComparer.Ordinal);
            foreach (var path in WeightFiles(directory))
            {
                var file = SafetensorsFile.Open(path, memory, progress?.Invoke(path));
                files.Add(file);
                foreach (var (name, tensor) in file.Tensors)
                {
                    if (!tensors.TryAdd(name, (file, tensor)))
                    {
                        throw file.Error(name, $"tensor is also in {tensors[name].File.Path}");
                    }
                }
            }

            var weights = ReadWeights(directory, config, hf.TiedEmbeddings, tensors);
            return new Result(config, weights, HuggingFaceTokenizer.Load(directory, hf), storage);
        }
        catch
        {
            storage.Dispose();
            throw;
        }
    }

    private static LlamaWeights ReadWeights(string directory, LlamaConfig config, bool tied, Dictionary<string, (SafetensorsFile File, SafetensorsTensor Tensor)> tensors)
    {
        var used = new HashSet<string>(StringComparer.Ordinal);
        var dim = config.Dim;

        (SafetensorsFile File, SafetensorsTensor Tensor) Get(string name, params long[] shape)
        {
            if (!tensors.TryGetValue(name, out var entry))
            {
                throw new ModelFormatException(directory, name, "tensor is missing from the safetensors files");
            }

            if (!entry.Tensor.Shape.SequenceEqual(shape))
            {
                throw entry.File.Error(name, $"shape [{string.Join(", ", entry.Tensor.Shape)}] does not match the expected [{string.Join(", ", shape)}]");
            }

            used.Add(name);
            return entry;
        }

        GgmlType TypeOf((SafetensorsFile File, SafetensorsTensor Tensor) e) => e.Tensor.DType switch
        {
            "F32" => GgmlType.F32,
            "F16" => GgmlType.F16,
            "BF16" => GgmlType.BF16,
            var other => throw e.File.Error(e.Tensor.Name, $"dtype {other} is not supported (F32, F16, BF16)"),
        };

        WeightMatrix Matrix(string name, int rows, int cols)
        {
            var e = Get(name, rows, cols);
            return new WeightMatrix(name, TypeOf(e), rows, cols, e.File.GetData(e.Tensor));
        }

        float[]? Optional(string name, int length) => tensors.ContainsKey(name) ? Vector(name, length) : null;

        float[] Vector(string name, int length)
        {
            var e = Get(name, length);
            var result = new float[length];
            Dequantize.Row(new WeightMatrix(name, TypeOf(e), 1, length, e.File.GetData(e.Tensor)), 0, result);
            return result;
        }

        var layers = new LayerWeights[config.Layers];
        for (var l = 0; l < config.Layers; l++)
        {
            layers[l] = LayerTensorNames.HuggingFace.Read(l, config, Matrix, Vector, Optional);
            if (config.Architecture == "qwen3" && (layers[l].QueryNorm is null || layers[l].KeyNorm is null))
            {
                throw new ModelFormatException(directory, LayerTensorNames.HuggingFace.Name(l, LayerTensorNames.HuggingFace.QueryNorm), "Qwen3 needs the per-head Q and K norms");
            }
        }

        // Tied models often store one copy: safetensors' torch writer keeps lm_head.weight and drops
        // model.embed_tokens.weight (naming the alias in __metadata__), or the reverse.
        const string embeddingName = "model.embed_tokens.weight", headName = "lm_head.weight";
        WeightMatrix embedding, classifier;
        if (tied || !tensors.ContainsKey(headName))
        {
            embedding = Matrix(tensors.ContainsKey(embeddingName) ? embeddingName : headName, config.VocabSize, dim);
            classifier = embedding;
            used.Add(headName);
        }
        else
        {
            embedding = Matrix(embeddingName, config.VocabSize, dim);
            classifier = Matrix(headName, config.VocabSize, dim);
        }

        var norm = Vector("model.norm.weight", dim);

        var unused = tensors.Keys.Where(n => !used.Contains(n) && !n.EndsWith("rotary_emb.inv_freq", StringComparison.Ordinal)).Order(StringComparer.Ordinal).ToList();
        if (unused.Count > 0)
        {
            throw new ModelFormatException(directory, unused[0], $"tensor is not part of the '{config.Architecture}' architecture as Mesh runs it ({unused.Count} such tensor(s): {string.Join(", ", unused.Take(5))})");
        }

        return new LlamaWeights(embedding, layers, norm, classifier);
    }

    private sealed class CompositeDisposable(List<SafetensorsFile> files) : IDisposable
    {
        public void Dispose()
        {
            foreach (var file in files)
            {
                file.Dispose();
            }
        }
    }
}
