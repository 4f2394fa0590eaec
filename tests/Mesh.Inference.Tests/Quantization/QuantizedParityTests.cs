using Microsoft.Extensions.Logging.Abstractions;
using Xunit.Abstractions;
using LLama.Native;
using Mesh.Inference.Backends;
using Mesh.Inference.Backends.Cpu;
using Mesh.Inference.Models;
using Mesh.Inference.Models.Gguf;
using Mesh.Inference.Tests.Backends;
using Mesh.Inference.Tests.Reference;

namespace Mesh.Inference.Tests.Quantization;

/// <summary>
/// Files quantized by llama.cpp itself load in Mesh with their weights kept quantized, and Mesh's
/// Score NLL equals llama.cpp's on them: within 1e-3 relative, 2e-3 for files whose matrices are
/// mostly 4-bit (both sides quantize activations to 8 bits, with different rounding details).
/// </summary>
public sealed class QuantizedParityTests(QuantizedModelsFixture files, ITestOutputHelper output) : IClassFixture<QuantizedModelsFixture>
{
    // A fixed pseudo-random token sequence over the whole vocabulary (BOS first).
    private static readonly int[] Tokens = [1, .. Enumerable.Range(1, 95).Select(i => 3 + (i * 211 % 509))];

    public static TheoryData<LLamaFtype, GgmlType[], double> Files => new()
    {
        { LLamaFtype.MOSTLY_Q8_0, [GgmlType.Q8_0], 1e-3 },
        { LLamaFtype.MOSTLY_Q4_0, [GgmlType.Q4_0, GgmlType.Q6_K], 2e-3 },
        { LLamaFtype.MOSTLY_Q4_1, [GgmlType.Q4_1, GgmlType.Q6_K], 2e-3 },
        { LLamaFtype.MOSTLY_Q5_0, [GgmlType.Q5_0, GgmlType.Q6_K], 1e-3 },
        { LLamaFtype.MOSTLY_Q5_1, [GgmlType.Q5_1, GgmlType.Q6_K], 1e-3 },
        { LLamaFtype.MOSTLY_Q2_K, [GgmlType.Q2_K], 2e-3 },
        { LLamaFtype.MOSTLY_Q3_K_M, [GgmlType.Q3_K], 2e-3 },
        { LLamaFtype.MOSTLY_Q4_K_S, [GgmlType.Q4_K], 2e-3 },
        { LLamaFtype.MOSTLY_Q4_K_M, [GgmlType.Q4_K, GgmlType.Q6_K], 2e-3 },
        { LLamaFtype.MOSTLY_Q5_K_S, [GgmlType.Q5_K], 1e-3 },
        { LLamaFtype.MOSTLY_Q5_K_M, [GgmlType.Q5_K, GgmlType.Q6_K], 1e-3 },
        { LLamaFtype.MOSTLY_Q6_K, [GgmlType.Q6_K], 1e-3 },
    };

    [Theory]
    [MemberData(nameof(Files))]
    public async Task ScoreNllEqualsLlamaCppOnItsOwnQuantizedFile(LLamaFtype fileType, GgmlType[] expectedTypes, double tolerance)
    {
        var path = files.Get(fileType);
        using var harness = new EngineHarness(path);
        var types = harness.Model.Weights.Matrices.Select(m => m.Type).ToHashSet();
        Assert.All(expectedTypes, t => Assert.Contains(t, types));

        var ours = (await harness.Engine.ScoreAsync(Tokens, CancellationToken.None)).Select(l => (double)l).ToArray();
        var theirs = LlamaCppReference.LogProbs(path, Tokens);
        var f32 = LlamaCppReference.LogProbs(files.F32, Tokens);

        var relative = Math.Abs(ours.Sum() - theirs.Sum()) / -theirs.Sum();
        output.WriteLine($"{fileType}: types {string.Join(",", types.Order())}; NLL Mesh {-ours.Sum():F5}, llama.cpp {-theirs.Sum():F5}, F32 {-f32.Sum():F5}; relative {relative:E2}; per-token RMS to llama.cpp {Rms(ours, theirs):E2}, quantization {Rms(theirs, f32):E2}");
        Assert.True(relative < tolerance, $"{fileType}: Mesh NLL {-ours.Sum():F5}, llama.cpp {-theirs.Sum():F5}, relative difference {relative:E2} ≥ {tolerance:E0} (F32 NLL {-f32.Sum():F5})");
        // Token by token, Mesh follows llama.cpp on the quantized file far more closely than the
        // quantization moved it from F32: the comparison sees the quantized weights, not around them.
        var toLlamaCpp = Rms(ours, theirs);
        var quantization = Rms(theirs, f32);
        Assert.True(toLlamaCpp < quantization / 2, $"{fileType}: per-token RMS difference to llama.cpp {toLlamaCpp:E2}, quantization's own effect {quantization:E2}");
    }

    private static double Rms(double[] a, double[] b) => Math.Sqrt(a.Zip(b, (x, y) => (x - y) * (x - y)).Average());

    [Theory]
    [InlineData(LLamaFtype.MOSTLY_Q4_K_M)]
    [InlineData(LLamaFtype.MOSTLY_Q5_1)]
    [InlineData(LLamaFtype.MOSTLY_Q8_0)]
    public void ResultsAreIdenticalForEveryThreadCount(LLamaFtype fileType)
    {
        using var model = LlamaModel.Load(files.Get(fileType));
        var one = CpuForward.Logits(model, threads: 1, Tokens[..12]);
        Assert.Equal(one, CpuForward.Logits(model, threads: 2, Tokens[..12]));
        Assert.Equal(one, CpuForward.Logits(model, threads: 3, Tokens[..12]));
    }

    [Theory]
    [InlineData(LLamaFtype.MOSTLY_Q4_0)]
    [InlineData(LLamaFtype.MOSTLY_Q4_K_M)]
    [InlineData(LLamaFtype.MOSTLY_Q5_1)]
    [InlineData(LLamaFtype.MOSTLY_Q8_0)]
    public void ADecodedTokenGetsTheLogitsItGetsInsideABatchForEveryThreadCount(LLamaFtype fileType)
    {
        // Decoding one token takes the fused kernels (one activation row); the same token inside a
        // prompt batch takes the unpack-once-per-row path. Both must give the same bits.
        using var model = LlamaModel.Load(files.Get(fileType));
        var vocab = model.Config.VocabSize;
        var batched = CpuForward.Logits(model, threads: 1, Tokens[..12]).AsSpan(11 * vocab, vocab).ToArray();
        foreach (var threads in new[] { 1, 2, 3 })
        {
            Assert.Equal(batched, CpuForward.DecodeLast(model, threads, Tokens[..12]));
        }
    }

    [Fact]
    public void AnImportanceMatrixTypeIsRefusedByName()
    {
        var source = files.Get(LLamaFtype.MOSTLY_Q4_K_M);
        var bytes = File.ReadAllBytes(source);
        using (var gguf = GgufFile.Open(source))
        {
            // Rewrite the type field of a Q4_K tensor to IQ2_XXS (16): same header, different type.
            var tensor = gguf.Tensors.Values.First(t => t.Type == GgmlType.Q4_K);
            var name = System.Text.Encoding.UTF8.GetBytes(tensor.Name);
            var at = bytes.AsSpan().IndexOf(name) + name.Length;
            BitConverter.GetBytes((uint)GgmlType.IQ2_XXS).CopyTo(bytes, at + 4 + (8 * tensor.Dimensions.Length));
        }

        var path = source + ".iq.gguf";
        File.WriteAllBytes(path, bytes);
        var e = Assert.Throws<ModelFormatException>(() => LlamaModel.Load(path));
        Assert.EndsWith(".type", e.Field, StringComparison.Ordinal);
        Assert.Contains("IQ2_XXS", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AQ4KModelRunsOnTheCpuUnderAutoAndCudaRefusesItByTypeName()
    {
        using var model = LlamaModel.Load(files.Get(LLamaFtype.MOSTLY_Q4_K_M));
        using (var auto = BackendFactory.Create(model, "auto", new BackendOptions { KvBlockCount = 8 }, NullLogger.Instance))
        {
            Assert.Equal("cpu", auto.Name);
        }

        var e = Assert.Throws<InvalidOperationException>(() => BackendFactory.Create(model, "cuda", new BackendOptions(), NullLogger.Instance));
        Assert.Contains("cannot read Q4_K, Q6_K weights", e.Message, StringComparison.Ordinal);
    }
}
