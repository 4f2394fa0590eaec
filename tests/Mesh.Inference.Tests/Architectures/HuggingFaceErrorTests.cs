using System.Text;
using System.Text.Json.Nodes;
using Mesh.Inference.Models;
using Mesh.Inference.Models.SafeTensors;
using Microsoft.Extensions.Logging;

namespace Mesh.Inference.Tests.Architectures;

/// <summary>
/// Hugging Face directories are untrusted input: a damaged safetensors header, config.json or
/// tokenizer.json fails with a <see cref="ModelFormatException"/> naming the file and the field;
/// a model larger than the memory available is refused with both sizes.
/// </summary>
public sealed class HuggingFaceErrorTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("mesh-badhf-").FullName;

    public static TheoryData<int> TruncationPoints => new() { 0, 5, 8, 64, 2000, 9000, 1_000_000, 2_626_167 };

    [Theory]
    [MemberData(nameof(TruncationPoints))]
    public void ATruncatedSafetensorsFileNamesTheFileAndTheField(int length)
    {
        var directory = CopyTinyStories();
        var weights = Path.Combine(directory, "model.safetensors");
        using (var file = File.OpenWrite(weights))
        {
            file.SetLength(length);
        }

        var e = Assert.Throws<ModelFormatException>(() => LlamaModel.Load(directory));

        Assert.Equal(weights, e.FilePath);
        Assert.False(string.IsNullOrEmpty(e.Field));
    }

    public static TheoryData<string, string, string> BadHeaders => new()
    {
        { "{\"w\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,20]}}", "w", "needs 24 bytes" },
        { "{\"w\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,2400]}}", "w", "outside" },
        { "{\"w\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[24,0]}}", "w", "outside" },
        { "{\"w\":{\"dtype\":\"Q4\",\"shape\":[2,3],\"data_offsets\":[0,24]}}", "w", "unknown dtype 'Q4'" },
        { "{\"w\":{\"dtype\":\"F32\",\"shape\":[-2,3],\"data_offsets\":[0,24]}}", "w", "non-negative" },
        { "{\"w\":{\"dtype\":\"F32\",\"shape\":[4611686018427387904,4],\"data_offsets\":[0,24]}}", "w", "too large" },
        { "{\"w\":{\"dtype\":\"F32\",\"shape\":[2,3]}}", "w", "data_offsets" },
        { "[1,2,3]", "header", "JSON object" },
        { "{\"w\":", "header", "not valid JSON" },
    };

    [Theory]
    [MemberData(nameof(BadHeaders))]
    public void ABadHeaderIsRefusedNamingTheTensor(string header, string field, string message)
    {
        var path = Path.Combine(_folder, "bad.safetensors");
        var json = Encoding.UTF8.GetBytes(header);
        File.WriteAllBytes(path, [.. BitConverter.GetBytes((ulong)json.Length), .. json, .. new byte[24]]);

        var e = Assert.Throws<ModelFormatException>(() => SafetensorsFile.Open(path).Dispose());

        Assert.Equal(field, e.Field);
        Assert.Contains(message, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AHeaderLengthBeyondTheFileIsRefused()
    {
        var path = Path.Combine(_folder, "huge.safetensors");
        File.WriteAllBytes(path, [.. BitConverter.GetBytes(ulong.MaxValue - 3), .. new byte[64]]);

        var e = Assert.Throws<ModelFormatException>(() => SafetensorsFile.Open(path).Dispose());

        Assert.Equal("header", e.Field);
    }

    [Fact]
    public void AShardIndexPointingOutsideTheDirectoryIsRefused()
    {
        var directory = CopyTinyStories();
        File.WriteAllText(Path.Combine(directory, "model.safetensors.index.json"), "{\"weight_map\":{\"lm_head.weight\":\"../model.safetensors\"}}");

        var e = Assert.Throws<ModelFormatException>(() => LlamaModel.Load(directory));

        Assert.Equal("weight_map", e.Field);
    }

    [Fact]
    public void AnUnknownArchitectureIsRefusedNamingTheSupportedOnes()
    {
        var directory = CopyTinyStories();
        Edit(Path.Combine(directory, "config.json"), json => json["architectures"] = new JsonArray("GemmaForCausalLM"));

        var e = Assert.Throws<ModelFormatException>(() => LlamaModel.Load(directory));

        Assert.Contains("'GemmaForCausalLM'", e.Message, StringComparison.Ordinal);
        Assert.Contains("Qwen3ForCausalLM", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AByteLevelPreTokenizerMeshCannotReproduceIsRefusedWithAWayOut()
    {
        // llama.cpp has no byte-level pre-tokenizer that adds a prefix space, so neither has Mesh.
        var directory = CopyTinyStories();
        Edit(Path.Combine(directory, "tokenizer.json"), json => json["pre_tokenizer"] = new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = true });

        var e = Assert.Throws<ModelFormatException>(() => LlamaModel.Load(directory));

        Assert.Equal("pre_tokenizer", e.Field);
        Assert.Contains("GGUF", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AModelLargerThanAvailableMemoryIsRefusedWithBothSizes()
    {
        var e = Assert.Throws<ModelFormatException>(() => ModelMemory.EnsureFits("big.gguf", 3L << 30, 1L << 30));

        Assert.Equal("size", e.Field);
        Assert.Contains("3.0 GiB", e.Message, StringComparison.Ordinal);
        Assert.Contains("1.0 GiB", e.Message, StringComparison.Ordinal);
        Assert.InRange(ModelMemory.AvailableBytes(), 1L << 20, long.MaxValue);
    }

    [Fact]
    public void PagingInLogsProgressForLargeModelsOnly()
    {
        using var model = LlamaModel.Load(ArchitectureModels.TinyStoriesGguf);
        var small = new ListLogger();
        var large = new ListLogger();

        ModelMemory.PageIn(model.Weights.Matrices, "tiny", small);
        ModelMemory.PageIn(model.Weights.Matrices, "tiny", large, progressThresholdBytes: 1);

        Assert.Empty(small.Lines);
        Assert.Contains(large.Lines, l => l.StartsWith("Loaded tiny: ", StringComparison.Ordinal) && l.Contains("paged in", StringComparison.Ordinal));
    }

    [Fact]
    public void AMistralSlidingWindowCapsTheContextInsteadOfBeingIgnored()
    {
        var directory = CopyTinyStories();
        Edit(Path.Combine(directory, "config.json"), json =>
        {
            json["architectures"] = new JsonArray("MistralForCausalLM");
            json["sliding_window"] = 128;
        });

        using var model = LlamaModel.Load(directory);

        Assert.Equal(128, model.Config.ContextLength);
        Assert.Equal("llama", model.Config.Architecture);
    }

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private string CopyTinyStories()
    {
        var directory = Path.Combine(_folder, $"hf-{Guid.NewGuid():N}");
        Directory.CreateDirectory(directory);
        foreach (var file in Directory.GetFiles(ArchitectureModels.TinyStoriesHf))
        {
            var target = Path.Combine(directory, Path.GetFileName(file));
            File.Copy(file, target);
            File.SetAttributes(target, FileAttributes.Normal);
        }

        return directory;
    }

    private static void Edit(string path, Action<JsonObject> edit)
    {
        var json = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        edit(json);
        File.WriteAllText(path, json.ToJsonString());
    }

    private sealed class ListLogger : ILogger
    {
        public List<string> Lines { get; } = [];

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            Lines.Add(formatter(state, exception));
    }
}
