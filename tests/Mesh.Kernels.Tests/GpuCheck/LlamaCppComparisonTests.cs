using Mesh.GpuCheck;
using Mesh.Inference.Backends;
using Mesh.Inference.Backends.Cpu;
using Mesh.Inference.Models;
using Mesh.Inference.Models.Gguf;

namespace Mesh.Kernels.Tests.GpuCheck;

/// <summary>
/// The GPU check's generate → quantize with llama.cpp → decode step, run here at a tiny size: the
/// synthetic F16 file must be one llama.cpp loads and quantizes to its Q4_K_M mix, Mesh must load
/// the result, and Mesh (CPU backend, standing in for CUDA here) and llama.cpp must both decode it,
/// agreeing on the first greedy token.
/// </summary>
public sealed class LlamaCppComparisonTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("mesh-gpucheck-test-").FullName;

    [Fact]
    public void A_generated_model_is_quantized_to_Q4_K_M_by_llama_cpp_and_decoded_by_both_engines()
    {
        var config = new LlamaConfig(Dim: 256, HiddenDim: 768, Layers: 2, Heads: 4, KvHeads: 2, VocabSize: 600, ContextLength: 128, NormEpsilon: 1e-5f, RopeTheta: 10000f);
        var path = LlamaCppComparison.WriteQ4KM(_folder, config, threads: 2);

        Assert.False(File.Exists(Path.Combine(_folder, "random-F16.gguf")), "the F16 source is deleted after quantizing");
        using (var gguf = GgufFile.Open(path))
        {
            var types = gguf.Tensors.ToDictionary(t => t.Key, t => t.Value.Type);
            Assert.Equal(GgmlType.Q4_K, types["blk.0.attn_q.weight"]);
            Assert.Equal(GgmlType.Q4_K, types["blk.0.ffn_gate.weight"]);
            Assert.Equal(GgmlType.Q6_K, types["output.weight"]);
            Assert.Contains(types.Where(t => t.Key.EndsWith("ffn_down.weight", StringComparison.Ordinal)), t => t.Value == GgmlType.Q6_K);
        }

        var prompt = LlamaCppComparison.Prompt(config.VocabSize, 8);
        var llama = LlamaCppComparison.LlamaCpp(path, prompt, steps: 6, threads: 2);
        var mesh = LlamaCppComparison.MeshBackend(path, prompt, steps: 6, (c, w) => new CpuBackend(c, w, new BackendOptions { KvBlockCount = 8 }));
        Assert.Equal(6, llama.Tokens.Count);
        Assert.Equal(6, mesh.Tokens.Count);
        Assert.All(llama.Tokens.Concat(mesh.Tokens), t => Assert.InRange(t, 0, config.VocabSize - 1));
        Assert.True(llama.TokensPerSecond > 0 && mesh.TokensPerSecond > 0);
        Assert.Equal(llama.Tokens[0], mesh.Tokens[0]);
    }

    [Fact]
    public void The_synthetic_vocabulary_is_consistent_and_too_small_sizes_are_refused()
    {
        var vocabulary = LlamaCppComparison.SyntheticVocabulary(1000);
        Assert.Null(vocabulary.FindProblem());
        Assert.Equal("<0x0A>", vocabulary.Pieces[3 + 10]);
        Assert.Throws<ArgumentOutOfRangeException>(() => LlamaCppComparison.SyntheticVocabulary(100));
    }

    public void Dispose() => Directory.Delete(_folder, recursive: true);
}
