using Xunit.Abstractions;
using Mesh.Inference.Backends;
using Mesh.Inference.Backends.Cpu;
using Mesh.Inference.Models;
using Mesh.Inference.Models.Gguf;
using Mesh.Inference.Tests.Backends;

namespace Mesh.Inference.Tests.Architectures;

/// <summary>
/// Hugging Face directories (config.json + safetensors + tokenizer.json) give the same model as the
/// GGUF llama.cpp's converter makes of them: TinyStories-656K's real directory against its F32 GGUF,
/// and, per architecture and dtype, synthetic directories against GGUF files of the same weights
/// (which <see cref="ArchitectureParityTests"/> checks against llama.cpp).
/// </summary>
public sealed class HuggingFaceDirectoryTests(ITestOutputHelper output) : IDisposable
{
    private static readonly int[] Text = [1, 80, 147, 201, 282, 57, 8, 3, 400, 512, 733, 1024, 1500, 2000, 17, 99, 250, 301, 1200, 42, 640, 900, 1800, 77];
    private readonly string _folder = Directory.CreateTempSubdirectory("mesh-hf-").FullName;

    public static TheoryData<string, string, int> Cases => new()
    {
        { "llama", "F32", 1 },
        { "llama", "BF16", 3 },
        { "llama-tied", "F16", 1 },
        { "llama3-rope-scaling", "F32", 2 },
        { "qwen2", "F32", 1 },
        { "qwen2", "F16", 2 },
        { "qwen3", "F32", 1 },
        { "qwen3", "BF16", 1 },
    };

    [Fact]
    public void TinyStoriesDirectoryGivesTheLogitsOfItsGguf()
    {
        using var hf = LlamaModel.Load(ArchitectureModels.TinyStoriesHf);
        using var gguf = LlamaModel.Load(ArchitectureModels.TinyStoriesGguf);

        Assert.Equal("huggingface", hf.Format);
        Assert.Equal(gguf.Config with { RopeStyle = RopeStyle.Neox }, hf.Config);
        AssertSameLogits(CpuForward.Logits(gguf, 1, Text), CpuForward.Logits(hf, 1, Text), 1e-4);
    }

    [Fact]
    public async Task TinyStoriesDirectoryTokenizesAndContinuesAsTheReadmeSays()
    {
        using var harness = new EngineHarness(ArchitectureModels.TinyStoriesHf);
        var prompt = harness.Model.Tokenizer.Encode("Once upon a time", addBos: true);
        Assert.Equal([1, 80, 147, 201, 282, 57], prompt);

        using var gguf = new EngineHarness(ArchitectureModels.TinyStoriesGguf);
        var (tokens, text, _) = await harness.RunAsync(EngineHarness.Greedy(prompt, 40));
        var (expected, _, _) = await gguf.RunAsync(EngineHarness.Greedy(prompt, 40));

        Assert.Equal(expected, tokens);
        Assert.StartsWith(", a little girl named Lily lived in a small house with her mom, dad, and her dog, Spot,", text, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void SyntheticDirectoryGivesTheLogitsOfTheConvertedGguf(string name, string dtype, int shards)
    {
        var vocabulary = ArchitectureModels.TinyStoriesVocabulary;
        var model = ArchitectureCases.Create(name, vocabulary.Count);
        var directory = Path.Combine(_folder, $"{name}-{dtype}");
        var ggufPath = Path.Combine(_folder, $"{name}-{dtype}.gguf");
        model.WriteHuggingFace(directory, dtype, shards, Path.Combine(ArchitectureModels.TinyStoriesFolder, "hf"));
        // The GGUF holds every tensor in the same dtype, so both sides compute on bit-identical weights.
        model.WriteGguf(ggufPath, vocabulary, matrixType: dtype switch { "F16" => GgmlType.F16, "BF16" => GgmlType.BF16, _ => GgmlType.F32 });

        using var hf = LlamaModel.Load(directory);
        using var gguf = LlamaModel.Load(ggufPath);

        Assert.Equal(dtype, hf.WeightType);
        Assert.Equal(RopeStyle.Neox, hf.Config.RopeStyle);
        AssertSameLogits(CpuForward.Logits(gguf, 1, Text), CpuForward.Logits(hf, 1, Text), 1e-4);
    }

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    /// <summary>Largest absolute difference relative to the largest logit magnitude.</summary>
    private void AssertSameLogits(float[] expected, float[] actual, double tolerance)
    {
        Assert.Equal(expected.Length, actual.Length);
        var scale = expected.Max(Math.Abs);
        var error = expected.Zip(actual, (a, b) => Math.Abs(a - b)).Max();
        output.WriteLine($"max |Δlogit| {error:E2}, max |logit| {scale:F3}, relative {error / scale:E2}");
        Assert.True(error <= tolerance * scale, $"max |Δlogit| {error:E2} > {tolerance:E0} × max |logit| {scale:F3}");
    }
}
