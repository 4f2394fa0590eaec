using System.Text.Json.Nodes;
using Mesh.Inference.Models;
using Mesh.Inference.Models.Gguf;
using Mesh.Inference.Models.Lora;
using Mesh.Inference.Tests.Tokenization;

namespace Mesh.Inference.Tests.Lora;

/// <summary>Adapter files are untrusted input: every bad one fails with a <see cref="ModelFormatException"/> naming the field.</summary>
public sealed class LoraFileErrorTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("mesh-lora-err-").FullName;
    private readonly LlamaConfig _config;

    public LoraFileErrorTests()
    {
        using var model = LlamaModel.Load(TestModels.TinyStories656KGguf);
        _config = model.Config;
    }

    [Fact]
    public void AGgufAdapterRoundTrips()
    {
        var written = LoraTestAdapters.Random(_config, 4, 8f, 1, targets: [LoraTarget.Key, LoraTarget.Down]);
        var path = Path.Combine(_folder, "a.gguf");
        LoraAdapterFile.WriteGguf(written, "llama", path);
        var read = LoraAdapterFile.Read(path, "a", _config);
        Assert.Equal([LoraTarget.Key, LoraTarget.Down], read.Targets);
        Assert.Equal(written.Get(1, LoraTarget.Down)!.B, read.Get(1, LoraTarget.Down)!.B);
        Assert.Equal(2f, read.Get(0, LoraTarget.Key)!.Scale);
    }

    [Theory]
    [InlineData("general.type", "model", "general.type")]
    [InlineData("general.architecture", "qwen2", "general.architecture")]
    [InlineData("adapter.type", "control_vector", "adapter.type")]
    public void WrongMetadataIsRefused(string key, string value, string field)
    {
        var writer = new GgufWriter();
        foreach (var (k, v) in new[] { ("general.architecture", "llama"), ("general.type", "adapter"), ("adapter.type", "lora") })
        {
            writer.Add(k, k == key ? value : v);
        }

        var path = Path.Combine(_folder, "m.gguf");
        writer.Add("adapter.lora.alpha", 8f).AddTensor("blk.0.attn_q.weight.lora_a", 4, _config.Dim, GgmlType.F32, () => new float[4 * _config.Dim], matrix: true).Write(path);
        Assert.Equal(field, Assert.Throws<ModelFormatException>(() => LoraAdapterFile.Read(path, "a", _config)).Field);
    }

    [Theory]
    [InlineData("blk.0.attn_q.weight.lora_a", 4, 100, "lora_a is [4, 100]")]
    [InlineData("blk.0.attn_q.weight.lora_a", 2000, 128, "ranks are 1 to 128")]
    [InlineData("blk.9.attn_q.weight.lora_a", 4, 128, "block 9 does not exist")]
    [InlineData("blk.0.token_embd.weight.lora_a", 4, 128, "is not a LoRA factor")]
    [InlineData("blk.0.attn_q.weight.lora_a", 4, 128, "has no lora_b")]
    public void MisshapenOrUnknownTensorsAreRefused(string name, int rows, int cols, string message)
    {
        var path = Path.Combine(_folder, "t.gguf");
        new GgufWriter().Add("general.architecture", "llama").Add("general.type", "adapter").Add("adapter.type", "lora")
            .AddTensor(name, rows, cols, GgmlType.F32, () => new float[rows * cols], matrix: true).Write(path);
        var e = Assert.Throws<ModelFormatException>(() => LoraAdapterFile.Read(path, "a", _config));
        Assert.Contains(message, e.Message);
    }

    [Theory]
    [InlineData("use_dora", "true", "use_dora")]
    [InlineData("r", "0", "r")]
    [InlineData("r", "5", "adapter_model.safetensors")]
    [InlineData("peft_type", "\"IA3\"", "peft_type")]
    [InlineData("lora_alpha", "-1", "lora_alpha")]
    public void BadPeftConfigurationsAreRefused(string field, string json, string failing)
    {
        var directory = LoraTestAdapters.WritePeft(LoraTestAdapters.Random(_config, 4, 8f, 2, targets: [LoraTarget.Up]), 4, 8f, Path.Combine(_folder, "peft"));
        var configPath = Path.Combine(directory, PeftLoraReader.ConfigFile);
        var config = JsonNode.Parse(File.ReadAllText(configPath))!.AsObject();
        config[field] = JsonNode.Parse(json);
        File.WriteAllText(configPath, config.ToJsonString());
        var e = Assert.Throws<ModelFormatException>(() => LoraAdapterFile.Read(directory, "p", _config));
        Assert.Contains(failing, e.Field + " " + e.FilePath);
    }

    [Fact]
    public void MutatedAdaptersLoadOrFailCleanly()
    {
        var path = Path.Combine(_folder, "fuzz.gguf");
        LoraAdapterFile.WriteGguf(LoraTestAdapters.Random(_config, 4, 8f, 3, targets: [LoraTarget.Query, LoraTarget.Gate]), "llama", path);
        var original = File.ReadAllBytes(path);
        var random = new Random(5);
        var mutated = Path.Combine(_folder, "mutated.gguf");
        for (var i = 0; i < 500; i++)
        {
            var bytes = (byte[])original.Clone();
            if (i % 5 == 0)
            {
                bytes = bytes[..random.Next(bytes.Length)];
            }
            else
            {
                // Mutations in the header and tensor directory, where counts, shapes and names live.
                for (var m = 0; m < 1 + random.Next(4); m++)
                {
                    bytes[random.Next(Math.Min(bytes.Length, 1200))] = (byte)random.Next(256);
                }
            }

            File.WriteAllBytes(mutated, bytes);
            try
            {
                LoraAdapterFile.Read(mutated, "f", _config);
            }
            catch (ModelFormatException)
            {
            }
        }
    }

    public void Dispose() => Directory.Delete(_folder, recursive: true);
}
