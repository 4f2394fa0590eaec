using System.CommandLine;
using Mesh.Inference.Engine;
using Mesh.Inference.Models.Gguf;

namespace Mesh.Inference.Bench;

/// <summary>
/// Inference benchmarks. Each prints a Markdown table with ratios against a baseline measured in the
/// same run: <c>single</c> (Mesh alone), <c>llamacpp</c> (Mesh vs llama.cpp), <c>fused</c> (AVX-VNNI
/// quantized decode kernels vs AVX2, or fused vs unpack-to-scratch), <c>gemm</c> (f32 register tiles
/// vs AVX2 kernels), <c>qgemm</c> (int8 register tiles vs one-row kernels on a quantized file's
/// layers), <c>sampler</c> (band-sorting vs full-sort sampler), <c>throughput</c>
/// (gRPC, batching vs one-at-a-time), <c>parallel</c> (CPU worker team vs thread pool), <c>prefix</c> (prefix cache on vs off), <c>specdecode</c>
/// (speculative vs plain decoding), <c>step</c> (the CPU backend's decode step of 1 vs N sequences, a
/// decode token's attention heads grouped vs one per work item).
/// </summary>
internal static class Program
{
    public static Task<int> Main(string[] args)
    {
        var threads = new Option<int>("--threads") { Description = "CPU threads for Mesh and llama.cpp alike", DefaultValueFactory = _ => Environment.ProcessorCount };
        var prompt = new Option<int>("--prompt-tokens") { DefaultValueFactory = _ => 128 };
        var decode = new Option<int>("--decode-tokens") { DefaultValueFactory = _ => 64 };
        var streams = new Option<int[]>("--streams") { DefaultValueFactory = _ => [1, 4, 16, 64], AllowMultipleArgumentsPerToken = true };
        var maxTokens = new Option<int>("--max-tokens") { DefaultValueFactory = _ => 32 };
        var only = new Option<string?>("--only") { Description = "run only the models whose name contains this (e.g. Q4)" };
        var weights = new Option<string>("--weights") { Description = "F32 or Q8_0 (synthetic 110M)", DefaultValueFactory = _ => "F32" };

        var attentionBaseline = new Option<bool>("--attention-baseline") { Description = "also run with the per-token attention loop, interleaved (before and after CpuAttention)" };
        var mappedBaseline = new Option<bool>("--mapped-baseline") { Description = "also run with the weights memory-mapped instead of on huge pages, interleaved (Inference:WeightMemory)" };
        var single = new Command("single", "single-stream prefill and decode tokens/s") { threads, prompt, decode, only, attentionBaseline, mappedBaseline };
        single.SetAction(r => SpeedBench.Run(r.GetValue(threads), withLlamaCpp: false, r.GetValue(prompt), r.GetValue(decode), r.GetValue(only), r.GetValue(attentionBaseline), r.GetValue(mappedBaseline)));
        var rounds = new Option<int>("--rounds") { DefaultValueFactory = _ => 5 };
        var parallel = new Command("parallel", "CPU backend worker team vs thread pool (Parallel.For), interleaved in one run") { threads, prompt, decode, only, rounds };
        parallel.SetAction(r => ParallelismBench.Run(r.GetValue(threads), r.GetValue(prompt), r.GetValue(decode), r.GetValue(rounds), r.GetValue(only)));
        var abStreams = new Option<int>("--streams") { DefaultValueFactory = _ => 16 };
        var parallelThroughput = new Command("parallel-throughput", "gRPC tokens/s with batching, CPU worker team vs thread pool, alternating rounds") { threads, abStreams, maxTokens, weights, rounds };
        parallelThroughput.SetAction(r => ParallelismThroughputBench.RunAsync(BenchModels.Synthetic110M(Enum.Parse<GgmlType>(r.GetValue(weights)!)), r.GetValue(threads), r.GetValue(abStreams), r.GetValue(maxTokens), r.GetValue(rounds)));
        var llamacpp = new Command("llamacpp", "Mesh vs llama.cpp on the same files and threads") { threads, prompt, decode, only };
        llamacpp.SetAction(r => SpeedBench.Run(r.GetValue(threads), withLlamaCpp: true, r.GetValue(prompt), r.GetValue(decode), r.GetValue(only)));
        var fusedBaseline = new Option<string>("--baseline") { Description = "avx2: AVX-VNNI kernels vs the AVX2 ones; unpack: fused kernels vs unpack-to-scratch; tiles: prefill with the int8 tiles vs the one-row kernels", DefaultValueFactory = _ => "avx2" };
        fusedBaseline.AcceptOnlyFromAmong("avx2", "unpack", "tiles");
        var fused = new Command("fused", "Mesh decode: quantized decode kernels vs their baseline (AVX2 or unpack-to-scratch), interleaved in one run") { threads, prompt, decode, only, rounds, fusedBaseline };
        fused.SetAction(r => FusedDecodeBench.Run(r.GetValue(threads), r.GetValue(prompt), r.GetValue(decode), r.GetValue(rounds), r.GetValue(only), r.GetValue(fusedBaseline)!));
        var gemmTokens = new Option<int[]>("--tokens") { DefaultValueFactory = _ => [1, 4, 5, 16, 64, 128], AllowMultipleArgumentsPerToken = true };
        var gemmRounds = new Option<int>("--rounds") { DefaultValueFactory = _ => 7 };
        var gemmLayers = new Option<int>("--layers") { Description = "distinct 110M layers to cycle through (12: the weights stream from memory)", DefaultValueFactory = _ => 1 };
        var gemm = new Command("gemm", "f32 matrix products of 110M layers: AVX-512 register tiles vs AVX2 kernels, interleaved") { threads, gemmTokens, gemmRounds, gemmLayers };
        gemm.SetAction(r => F32GemmBench.Run(r.GetValue(threads), r.GetValue(gemmRounds), r.GetValue(gemmTokens)!, r.GetValue(gemmLayers)));
        var qgemmType = new Option<string>("--type") { Description = "Q8_0, or a llama.cpp file type: Q4_0, Q4_K_M, …", DefaultValueFactory = _ => "Q4_0" };
        var qgemmTokens = new Option<int[]>("--tokens") { DefaultValueFactory = _ => [1, 4, 16, 64, 128], AllowMultipleArgumentsPerToken = true };
        var qgemmRounds = new Option<int>("--rounds") { DefaultValueFactory = _ => 7 };
        var qgemmLayers = new Option<int>("--layers") { Description = "how many of the file's layers to run (12: the weights stream from memory as in prefill)", DefaultValueFactory = _ => 12 };
        var qgemm = new Command("qgemm", "quantized matrix products of a 110M file's layers: int8 register tiles vs one-row kernels, interleaved") { threads, qgemmType, qgemmTokens, qgemmRounds, qgemmLayers };
        qgemm.SetAction(r => QuantGemmBench.Run(r.GetValue(qgemmType)!, r.GetValue(threads), r.GetValue(qgemmRounds), r.GetValue(qgemmTokens)!, r.GetValue(qgemmLayers)));
        var samplerRounds = new Option<int>("--rounds") { DefaultValueFactory = _ => 5 };
        var sampler = new Command("sampler", "µs per draw: the band-sorting sampler vs the full-sort one it replaced, interleaved") { samplerRounds };
        sampler.SetAction(r => SamplerBench.Run(r.GetValue(samplerRounds)));
        var batchingOnly = new Option<bool>("--batching-only") { Description = "skip the one-at-a-time baseline (to profile the batched steps alone)" };
        var throughput = new Command("throughput", "gRPC throughput curve, batching vs one-at-a-time") { threads, streams, maxTokens, weights, batchingOnly };
        throughput.SetAction(r => ThroughputBench.RunAsync(BenchModels.Synthetic110M(Enum.Parse<GgmlType>(r.GetValue(weights)!)), r.GetValue(threads), r.GetValue(streams)!, r.GetValue(maxTokens), r.GetValue(batchingOnly)));
        var stepSizes = new Option<int[]>("--tokens") { DefaultValueFactory = _ => [1, 16], AllowMultipleArgumentsPerToken = true };
        var stepContext = new Option<int>("--context") { DefaultValueFactory = _ => 40 };
        var stepCount = new Option<int>("--steps") { DefaultValueFactory = _ => 16 };
        var stepRounds = new Option<int>("--rounds") { DefaultValueFactory = _ => 7 };
        var step = new Command("step", "CPU backend alone: ms per decode step of 1 vs N sequences, interleaved") { threads, weights, stepSizes, stepContext, stepCount, stepRounds };
        step.SetAction(r => DecodeStepBench.Run(BenchModels.Synthetic110M(Enum.Parse<GgmlType>(r.GetValue(weights)!)), r.GetValue(threads), r.GetValue(stepSizes)!, r.GetValue(stepContext), r.GetValue(stepCount), r.GetValue(stepRounds)));
        var prefix = new Command("prefix", "TTFT with a repeated system prompt, prefix cache on vs off") { threads, weights };
        prefix.SetAction(r => PrefixCacheBench.RunAsync(BenchModels.Synthetic110M(Enum.Parse<GgmlType>(r.GetValue(weights)!)), r.GetValue(threads), 6));

        var speculative = new Option<int>("--num-speculative-tokens") { DefaultValueFactory = _ => 4 };
        var specRounds = new Option<int>("--rounds") { DefaultValueFactory = _ => 4 };
        var specMaxTokens = new Option<int>("--max-tokens") { DefaultValueFactory = _ => 160 };
        var lookupMax = new Option<int>("--prompt-lookup-max") { DefaultValueFactory = _ => 4 };
        var lookupMin = new Option<int>("--prompt-lookup-min") { DefaultValueFactory = _ => 2 };
        var models = new Option<string[]>("--model") { Description = "GGUF files (default: stories260K and TinyStories-656K)", DefaultValueFactory = _ => [], AllowMultipleArgumentsPerToken = true };
        var spec = new Command("specdecode", "speculative decoding (prompt lookup) vs plain decoding on text that copies its prompt") { threads, speculative, lookupMax, lookupMin, specMaxTokens, specRounds, models, attentionBaseline };
        spec.SetAction(r => SpecDecodeBench.RunAsync(
            r.GetValue(threads),
            new EngineOptions { NumSpeculativeTokens = r.GetValue(speculative), PromptLookupMax = r.GetValue(lookupMax), PromptLookupMin = r.GetValue(lookupMin) },
            r.GetValue(specMaxTokens), r.GetValue(specRounds), r.GetValue(models)!, r.GetValue(attentionBaseline)));

        return new RootCommand("Mesh Inference benchmarks") { single, parallel, parallelThroughput, llamacpp, fused, gemm, qgemm, sampler, throughput, prefix, spec, step }.Parse(args).InvokeAsync();
    }
}
