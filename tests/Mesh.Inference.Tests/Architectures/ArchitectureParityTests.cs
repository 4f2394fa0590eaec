using Xunit.Abstractions;
using Mesh.Inference.Models;
using Mesh.Inference.Tests.Reference;
using Mesh.Inference.Tests.Tokenization;

namespace Mesh.Inference.Tests.Architectures;

/// <summary>
/// For each architecture (llama, tied llama, Llama 3.1 RoPE scaling, qwen2, qwen3), an F32 GGUF
/// written here as llama.cpp's converter writes one: Mesh's Score NLL equals llama.cpp's within 1e-3
/// relative, and greedy decoding agrees with llama.cpp for 32 steps (with argmax margins that are
/// clearly not ties).
/// </summary>
public sealed class ArchitectureParityTests(ITestOutputHelper output) : IDisposable
{
    private static readonly int[] Text = [1, 80, 147, 201, 282, 57, 8, 3, 400, 512, 733, 1024, 1500, 2000, 17, 99, 250, 301, 1200, 42, 640, 900, 1800, 77];
    private readonly string _folder = Directory.CreateTempSubdirectory("mesh-arch-").FullName;

    public static TheoryData<string> Cases => ArchitectureCases.Names;

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task ScoreMatchesLlamaCpp(string name)
    {
        var path = Write(name);
        using var harness = new EngineHarness(path);

        var mesh = -(await harness.Engine.ScoreAsync(Text, CancellationToken.None)).Sum(l => (double)l);
        var reference = LlamaCppReference.Nll(path, Text);

        output.WriteLine($"{name}: Mesh NLL {mesh:F6}, llama.cpp {reference:F6}, relative difference {Math.Abs(mesh - reference) / Math.Abs(reference):E2}");
        Assert.True(Math.Abs(mesh - reference) <= 1e-3 * Math.Abs(reference), $"{name}: Mesh NLL {mesh:F6}, llama.cpp {reference:F6}");
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task GreedyDecodingMatchesLlamaCppFor32Steps(string name)
    {
        var path = Write(name);
        using var harness = new EngineHarness(path);
        var prompt = Text[..6];

        var expected = LlamaCppReference.Greedy(path, prompt, 32, out var margin);
        var (tokens, _, _) = await harness.RunAsync(EngineHarness.Greedy(prompt, 32));

        output.WriteLine($"{name}: smallest greedy margin {margin:F4}, {expected.Zip(tokens).Count(p => p.First == p.Second)}/32 tokens equal, {expected.Distinct().Count()} distinct");
        Assert.True(margin > 1e-2, $"{name}: the reference's smallest argmax margin {margin} is too close to a tie to compare");
        Assert.Equal(expected, tokens);
    }

    [Fact]
    public void TheLoaderReadsEachArchitecturesHyperparameters()
    {
        using var qwen3 = LlamaModel.Load(Write("qwen3"));
        Assert.Equal("qwen3", qwen3.Config.Architecture);
        Assert.Equal(RopeStyle.Neox, qwen3.Config.RopeStyle);
        Assert.Equal(32, qwen3.Config.HeadDim);
        Assert.Equal(128, qwen3.Config.QueryDim);
        Assert.Equal(1e-6f, qwen3.Config.NormEpsilon);
        Assert.Equal(1000000f, qwen3.Config.RopeTheta);
        Assert.All(qwen3.Weights.Layers, l => Assert.Equal(32, l.KeyNorm!.Length));

        using var qwen2 = LlamaModel.Load(Write("qwen2"));
        Assert.Same(qwen2.Weights.TokenEmbedding, qwen2.Weights.Classifier);
        Assert.All(qwen2.Weights.Layers, l => Assert.Equal(32, l.KeyBias!.Length));

        using var llama3 = LlamaModel.Load(Write("llama3-rope-scaling"));
        Assert.Equal(RopeStyle.Adjacent, llama3.Config.RopeStyle);
        Assert.Equal(8, llama3.Config.RopeFrequencyFactors!.Length);
        Assert.Contains(1f, llama3.Config.RopeFrequencyFactors);
        Assert.Contains(8f, llama3.Config.RopeFrequencyFactors);
        Assert.Contains(llama3.Config.RopeFrequencyFactors, f => f is > 1f and < 8f);
    }

    [Fact]
    public async Task RopeScalingChangesTheResultSoTheParityTestCanFail()
    {
        var model = ArchitectureCases.Create("llama3-rope-scaling", Vocabulary.Count);
        var scaled = Path.Combine(_folder, "scaled.gguf");
        var plain = Path.Combine(_folder, "plain.gguf");
        model.WriteGguf(scaled, Vocabulary);
        model.WriteGguf(plain, Vocabulary, withLlama3Factors: false);

        using var a = new EngineHarness(scaled);
        using var b = new EngineHarness(plain);
        var withFactors = (await a.Engine.ScoreAsync(Text, CancellationToken.None)).Sum();
        var without = (await b.Engine.ScoreAsync(Text, CancellationToken.None)).Sum();

        // Five times the parity tolerance: a forward pass ignoring the factors fails ScoreMatchesLlamaCpp.
        Assert.True(Math.Abs(withFactors - without) > 5e-3 * Math.Abs(without), $"NLL {withFactors} with factors, {without} without");
    }

    [Fact]
    public void AnUnknownArchitectureIsRefusedNamingItAndTheSupportedOnes()
    {
        var path = Path.Combine(_folder, "gemma.gguf");
        new SyntheticFamilyModel("gemma", Vocabulary.Count, seed: 1, tied: true).WriteGguf(path, Vocabulary);

        var error = Assert.Throws<ModelFormatException>(() => LlamaModel.Load(path));

        Assert.Equal("general.architecture", error.Field);
        Assert.Contains("'gemma'", error.Message, StringComparison.Ordinal);
        Assert.Contains("llama, qwen2, qwen3", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AQwen2FileWithoutItsBiasesIsRefused()
    {
        var path = Path.Combine(_folder, "qwen2-no-bias.gguf");
        new SyntheticFamilyModel("qwen2", Vocabulary.Count, seed: 1, tied: true).WriteGguf(path, Vocabulary);

        var error = Assert.Throws<ModelFormatException>(() => LlamaModel.Load(path));

        Assert.Contains("bias", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("llama", null)]
    [InlineData("llama-tied", null)]
    [InlineData("llama3-rope-scaling", "RoPE frequency factors")]
    [InlineData("qwen2", "NeoX-style RoPE (qwen2)")]
    [InlineData("qwen3", "NeoX-style RoPE (qwen3)")]
    public void TheCudaBackendSaysWhichFeatureItLacks(string name, string? feature)
    {
        using var model = LlamaModel.Load(Write(name));
        var lacking = Mesh.Inference.Backends.Cuda.CudaBackendFactory.UnsupportedFeature(model.Config, model.Weights);
        if (feature is null)
        {
            Assert.Null(lacking);
        }
        else
        {
            Assert.StartsWith(feature, lacking, StringComparison.Ordinal);
        }
    }

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private static Mesh.Inference.Tokenization.SentencePieceVocabulary Vocabulary => ArchitectureModels.TinyStoriesVocabulary;

    private string Write(string name)
    {
        var path = Path.Combine(_folder, name + ".gguf");
        ArchitectureCases.Create(name, Vocabulary.Count).WriteGguf(path, Vocabulary);
        return path;
    }
}
