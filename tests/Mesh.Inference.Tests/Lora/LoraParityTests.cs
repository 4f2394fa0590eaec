using Mesh.Inference.Models.Lora;
using Mesh.Inference.Tests.Architectures;
using Mesh.Inference.Tests.Reference;
using Mesh.Inference.Tests.Tokenization;
using Xunit.Abstractions;

namespace Mesh.Inference.Tests.Lora;

/// <summary>
/// LoRA adapters against llama.cpp on TinyStories-656K (F32): an adapter Mesh writes loads in llama.cpp
/// (through LLamaSharp) and both give the same Score NLL within 1e-4 relative; a PEFT adapter gives the
/// same NLL as its GGUF conversion (over the Hugging Face directory and over the GGUF).
/// </summary>
public sealed class LoraParityTests(ITestOutputHelper output) : IDisposable
{
    private static readonly int[] Text = [1, 80, 147, 201, 282, 57, 8, 3, 400, 512, 733, 1024, 1500, 2000, 17, 99, 250, 301, 1200, 42, 640, 900, 1800, 77, 5, 60, 700, 31];
    private readonly string _folder = Directory.CreateTempSubdirectory("mesh-lora-").FullName;

    [Theory]
    [InlineData(8, 16f, 11)]
    [InlineData(4, 0f, 12)]
    public async Task AnAdapterMeshWritesGivesLlamaCppsNll(int rank, float alpha, int seed)
    {
        var model = TestModels.TinyStories656KGguf;
        using var harness = new EngineHarness(model);
        var written = LoraTestAdapters.Random(harness.Model.Config, rank, alpha, seed);
        var path = Path.Combine(_folder, $"adapter-{seed}.gguf");
        LoraAdapterFile.WriteGguf(written, "llama", path);
        var adapter = LoraAdapterFile.Read(path, "a", harness.Model.Config);

        var mesh = -(await harness.Engine.ScoreAsync(Text, adapter, CancellationToken.None)).Sum(l => (double)l);
        var baseNll = -(await harness.Engine.ScoreAsync(Text, CancellationToken.None)).Sum(l => (double)l);
        var reference = LlamaCppReference.Nll(model, Text, path);
        var referenceBase = LlamaCppReference.Nll(model, Text);

        output.WriteLine($"rank {rank} alpha {alpha}: Mesh {mesh:F6}, llama.cpp {reference:F6} (relative {Math.Abs(mesh - reference) / reference:E2}); base {baseNll:F6} / {referenceBase:F6}");
        Assert.True(Math.Abs(mesh - baseNll) > 0.005 * baseNll, $"the adapter should move the NLL: {baseNll} → {mesh}");
        Assert.True(Math.Abs(mesh - reference) <= 1e-4 * reference, $"Mesh {mesh:F6}, llama.cpp {reference:F6}");
    }

    [Fact]
    public async Task APeftAdapterGivesTheNllOfItsGgufConversion()
    {
        using var gguf = new EngineHarness(TestModels.TinyStories656KGguf);
        using var hf = new EngineHarness(ArchitectureModels.TinyStoriesHf);
        var config = hf.Model.Config;
        var factors = LoraTestAdapters.Random(config, 8, 16f, 21);
        var peft = LoraTestAdapters.WritePeft(factors, 8, 16f, Path.Combine(_folder, "peft"));
        var converted = Path.Combine(_folder, "converted.gguf");
        LoraAdapterFile.WriteGguf(LoraTestAdapters.ToGgufLayout(factors, config), "llama", converted);

        var peftOverHf = -(await hf.Engine.ScoreAsync(Text, LoraAdapterFile.Read(peft, "p", config), CancellationToken.None)).Sum(l => (double)l);
        var peftOverGguf = -(await gguf.Engine.ScoreAsync(Text, LoraAdapterFile.Read(peft, "p", gguf.Model.Config), CancellationToken.None)).Sum(l => (double)l);
        var ggufOverGguf = -(await gguf.Engine.ScoreAsync(Text, LoraAdapterFile.Read(converted, "g", gguf.Model.Config), CancellationToken.None)).Sum(l => (double)l);
        var llamaCpp = LlamaCppReference.Nll(TestModels.TinyStories656KGguf, Text, converted);
        var baseNll = -(await hf.Engine.ScoreAsync(Text, CancellationToken.None)).Sum(l => (double)l);

        output.WriteLine($"PEFT over hf/ {peftOverHf:F6}, PEFT over GGUF {peftOverGguf:F6}, converted GGUF {ggufOverGguf:F6}, llama.cpp {llamaCpp:F6}, base {baseNll:F6}");
        Assert.True(Math.Abs(peftOverHf - baseNll) > 0.005 * baseNll);
        Assert.True(Math.Abs(peftOverHf - llamaCpp) <= 1e-4 * llamaCpp, $"PEFT over hf/ {peftOverHf:F6}, llama.cpp {llamaCpp:F6}");
        Assert.True(Math.Abs(peftOverGguf - ggufOverGguf) <= 1e-5 * ggufOverGguf, $"PEFT over GGUF {peftOverGguf:F6}, GGUF {ggufOverGguf:F6}");
    }

    [Fact]
    public async Task BF16PeftFactorsLoad()
    {
        using var gguf = new EngineHarness(TestModels.TinyStories656KGguf);
        var factors = LoraTestAdapters.Random(gguf.Model.Config, 4, 8f, 31, targets: [LoraTarget.Query, LoraTarget.Value]);
        var f32 = LoraAdapterFile.Read(LoraTestAdapters.WritePeft(factors, 4, 8f, Path.Combine(_folder, "f32")), "f", gguf.Model.Config);
        var bf16 = LoraAdapterFile.Read(LoraTestAdapters.WritePeft(factors, 4, 8f, Path.Combine(_folder, "bf16"), "BF16"), "b", gguf.Model.Config);

        var a = -(await gguf.Engine.ScoreAsync(Text, f32, CancellationToken.None)).Sum(l => (double)l);
        var b = -(await gguf.Engine.ScoreAsync(Text, bf16, CancellationToken.None)).Sum(l => (double)l);
        Assert.Equal([LoraTarget.Query, LoraTarget.Value], bf16.Targets);
        Assert.True(Math.Abs(a - b) <= 1e-2 * a, $"F32 {a}, BF16 {b}");
    }

    public void Dispose() => Directory.Delete(_folder, recursive: true);
}
