using System.Diagnostics;
using System.Numerics.Tensors;
using Mesh.Inference.Backends;
using Mesh.Inference.Backends.Cpu;
using Mesh.Inference.Backends.Cuda;
using Mesh.Inference.Models;
using Mesh.Inference.Models.Gguf;
using Microsoft.Extensions.Logging.Abstractions;

namespace Mesh.GpuCheck;

/// <summary>
/// End to end: the CUDA backend against the CPU backend on the same random Llama-shaped models.
/// Small models check that both backends compute the same logits (prefill through the tensor-core
/// path and decode through matvec); a 1B-class bf16 model measures greedy decode tokens/s.
/// </summary>
internal static class DecodeBenchmark
{
    public static void CheckAgreement(List<CorrectnessResult> results)
    {
        // Block types need K a whole number of blocks (256 for the K-quants): hidden 768. The CPU
        // backend quantizes activations to Q8_0/Q8_K for those types; the GPU keeps them f32.
        var config = new LlamaConfig(Dim: 256, HiddenDim: 768, Layers: 4, Heads: 8, KvHeads: 4, VocabSize: 1024, ContextLength: 512, NormEpsilon: 1e-5f, RopeTheta: 10000f);
        foreach (var (type, prefillThreshold, decodeThreshold) in new[] { (GgmlType.F32, 1e-4, 1e-4), (GgmlType.BF16, 3e-2, 1e-3), (GgmlType.Q8_0, 3e-2, 3e-2), (GgmlType.Q4_0, 3e-2, 3e-2), (GgmlType.Q4_K, 3e-2, 3e-2), (GgmlType.Q5_K, 3e-2, 3e-2) })
        {
            using var model = new RandomModel(config, type, seed: 17);
            var options = new BackendOptions { KvBlockCount = 64 };
            using var cpu = new CpuBackend(config, model.Weights, options);
            using var gpu = CudaBackendFactory.Create("random", config, model.Weights, options, NullLogger.Instance);
            var prompt = Enumerable.Range(0, 40).Select(i => (i * 37) % config.VocabSize).ToArray();
            var (cpuPrefill, gpuPrefill) = (Prefill(cpu, prompt, config), Prefill(gpu, prompt, config));
            results.Add(Compare($"backend prefill ({type})", $"40 tokens, {config.Layers} layers, dim {config.Dim}", gpuPrefill, cpuPrefill, prefillThreshold));
            var (cpuDecode, gpuDecode) = (Decode(cpu, prompt.Length, 7, config), Decode(gpu, prompt.Length, 7, config));
            results.Add(Compare($"backend decode ({type})", "1 token at position 40", gpuDecode, cpuDecode, decodeThreshold));
        }
    }

    public static List<DecodeResult> Throughput(int gpuSteps, int cpuSteps)
    {
        // Llama-3.2-1B-like shapes with a 32k vocabulary: ~1.0B parameters in bf16.
        var config = new LlamaConfig(Dim: 2048, HiddenDim: 8192, Layers: 16, Heads: 32, KvHeads: 8, VocabSize: 32000, ContextLength: 2048, NormEpsilon: 1e-5f, RopeTheta: 500000f);
        var options = new BackendOptions { KvBlockCount = 256 };
        var results = new List<DecodeResult>();
        foreach (var (type, name) in new[] { (GgmlType.BF16, "random 1B bf16"), (GgmlType.Q4_K, "random 1B Q4_K_M mix (Q4_K, Q6_K ffn_down/output)") })
        {
            using var model = new RandomModel(config, type, seed: 1);
            var label = $"{name} (dim 2048, 16 layers, vocab 32000)";
            using (var gpu = CudaBackendFactory.Create("random-1b", config, model.Weights, options, NullLogger.Instance))
            {
                results.Add(new DecodeResult("cuda", label, gpuSteps, GreedyTokensPerSecond(gpu, config, gpuSteps)));
            }
            using (var cpu = new CpuBackend(config, model.Weights, options))
            {
                results.Add(new DecodeResult($"cpu ({cpu.Threads} threads)", label, cpuSteps, GreedyTokensPerSecond(cpu, config, cpuSteps)));
            }
        }
        return results;
    }

    /// <summary>
    /// Greedy decode on a 1B-class file llama.cpp quantized to Q4_K_M (<see cref="LlamaCppComparison"/>):
    /// Mesh's CUDA and CPU backends and llama.cpp's CPU backend on all cores, with how many leading
    /// greedy tokens each Mesh backend shares with llama.cpp.
    /// </summary>
    public static List<DecodeResult> AgainstLlamaCpp(int gpuSteps, int cpuSteps)
    {
        var folder = Path.Combine(Path.GetTempPath(), $"mesh-gpucheck-{Environment.ProcessId}");
        var threads = Environment.ProcessorCount;
        try
        {
            var config = LlamaCppComparison.Shape1B;
            var path = LlamaCppComparison.WriteQ4KM(folder, config, threads);
            var prompt = LlamaCppComparison.Prompt(config.VocabSize, 16);
            var label = "random 1B Q4_K_M, quantized by llama.cpp (dim 2048, 16 layers, vocab 32000)";
            var options = new BackendOptions { KvBlockCount = 256 };
            var llama = LlamaCppComparison.LlamaCpp(path, prompt, cpuSteps, threads);
            var cuda = LlamaCppComparison.MeshBackend(path, prompt, gpuSteps, (c, w) => CudaBackendFactory.Create("random-1b-q4km", c, w, options, NullLogger.Instance));
            var cpu = LlamaCppComparison.MeshBackend(path, prompt, cpuSteps, (c, w) => new CpuBackend(c, w, options));
            string Shared(DecodeRun run) => $"first {run.Tokens.Zip(llama.Tokens).TakeWhile(p => p.First == p.Second).Count()} of {Math.Min(run.Tokens.Count, llama.Tokens.Count)} greedy tokens equal to llama.cpp's";
            return
            [
                new DecodeResult("cuda (Mesh)", label, gpuSteps, cuda.TokensPerSecond, Shared(cuda)),
                new DecodeResult($"cpu (Mesh, {threads} threads)", label, cpuSteps, cpu.TokensPerSecond, Shared(cpu)),
                new DecodeResult($"llama.cpp cpu ({threads} threads)", label, cpuSteps, llama.TokensPerSecond),
            ];
        }
        finally
        {
            if (Directory.Exists(folder))
            {
                Directory.Delete(folder, recursive: true);
            }
        }
    }

    private static double GreedyTokensPerSecond(IInferenceBackend backend, LlamaConfig config, int steps)
    {
        var table = Enumerable.Range(0, (steps + 24) / 16 + 1).ToArray();
        var batch = new ForwardBatch();
        var logits = new float[config.VocabSize];
        var token = 1;
        for (var warm = 0; warm < 2; warm++)
        {
            Step(warm);
        }
        var clock = Stopwatch.StartNew();
        for (var p = 2; p < steps + 2; p++)
        {
            Step(p);
        }
        return steps / clock.Elapsed.TotalSeconds;

        void Step(int position)
        {
            batch.Clear();
            batch.AddToken(batch.AddSequence(table), token, position, wantLogits: true);
            backend.Forward(batch, logits);
            token = TensorPrimitives.IndexOfMax(logits);
        }
    }

    private static float[] Prefill(IInferenceBackend backend, int[] prompt, LlamaConfig config)
    {
        var batch = new ForwardBatch();
        var seq = batch.AddSequence([0, 1, 2, 3]);
        for (var i = 0; i < prompt.Length; i++)
        {
            batch.AddToken(seq, prompt[i], i, wantLogits: true);
        }
        var logits = new float[prompt.Length * config.VocabSize];
        backend.Forward(batch, logits);
        return logits;
    }

    private static float[] Decode(IInferenceBackend backend, int position, int token, LlamaConfig config)
    {
        var batch = new ForwardBatch();
        batch.AddToken(batch.AddSequence([0, 1, 2, 3]), token, position, wantLogits: true);
        var logits = new float[config.VocabSize];
        backend.Forward(batch, logits);
        return logits;
    }

    private static CorrectnessResult Compare(string name, string shape, float[] gpu, float[] cpu, double threshold)
    {
        var error = DeviceData.RelativeError(gpu, cpu);
        var written = DeviceData.AllWritten(gpu);
        return new CorrectnessResult(name, shape, error, threshold, written, written && error <= threshold, "CUDA backend vs CPU backend logits");
    }
}
