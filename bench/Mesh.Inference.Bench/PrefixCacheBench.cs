using System.Diagnostics;
using Mesh.Inference.Backends;
using Mesh.Inference.Backends.Cpu;
using Mesh.Inference.Engine;
using Mesh.Inference.Models;
using Mesh.Inference.Sampling;

namespace Mesh.Inference.Bench;

/// <summary>TTFT of requests sharing a long system prompt, with the prefix cache on and off.</summary>
internal static class PrefixCacheBench
{
    public static async Task RunAsync(string modelPath, int threads, int requests)
    {
        using var model = LlamaModel.Load(modelPath);
        var system = string.Concat(Enumerable.Repeat("You are the assistant of a toy shop. Answer kindly, briefly and only about toys, orders and returns. ", 12));
        Console.WriteLine($"model: {Path.GetFileName(modelPath)}, threads: {threads}, system prompt: {model.Tokenizer.Encode(system, true).Length} tokens, {requests} requests in sequence");
        Console.WriteLine();
        var table = new Table("prefix cache", "mean TTFT ms (after the first)", "prompt tokens computed", "cached prompt tokens");
        var ttfts = new Dictionary<bool, double>();
        foreach (var enabled in new[] { false, true })
        {
            using var backend = new CpuBackend(model.Config, model.Weights, new BackendOptions { Threads = threads });
            using var engine = new InferenceEngine(model, backend, new EngineOptions { EnablePrefixCaching = enabled });
            var times = new List<double>();
            var cached = 0;
            for (var i = 0; i < requests; i++)
            {
                var prompt = model.Tokenizer.Encode($"{system}Customer {i}: where is my order number {1000 + i}?", true);
                var start = Stopwatch.GetTimestamp();
                double ttft = 0;
                await foreach (var chunk in engine.Submit(new GenerationRequest(prompt, 2, SamplingParameters.Greedy, [], IgnoreEos: true), CancellationToken.None).ReadAllAsync())
                {
                    ttft = ttft == 0 ? Stopwatch.GetElapsedTime(start).TotalMilliseconds : ttft;
                    cached += chunk.Usage?.CachedPromptTokens ?? 0;
                }

                if (i > 0)
                {
                    times.Add(ttft);
                }
            }

            ttfts[enabled] = times.Average();
            table.Add(enabled ? "on" : "off", times.Average(), engine.Statistics.PromptTokensComputed, cached);
        }

        table.Print();
        Console.WriteLine($"TTFT with the cache is {ttfts[false] / ttfts[true]:F1}× lower.");
    }
}
