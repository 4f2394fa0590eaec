using System.Diagnostics;
using Mesh.Inference.Backends;
using Mesh.Inference.Backends.Cpu;
using Mesh.Inference.Engine;
using Mesh.Inference.Models;
using Mesh.Inference.Sampling;

namespace Mesh.Inference.Bench;

/// <summary>
/// Speculative decoding by prompt lookup against plain decoding, in one run: two engines over the
/// same model and thread count, the requests of both arms interleaved round by round (the order
/// alternating), one request at a time. Decode tokens/s counts the tokens after the first over the
/// time from the first token to the last, so prefill is left out of both arms. Every request's
/// tokens must be identical in both arms, or the run fails.
/// </summary>
internal static class SpecDecodeBench
{
    private sealed record Arm(string Name, InferenceEngine Engine)
    {
        public double Seconds { get; set; }

        public long Tokens { get; set; }
    }

    public static async Task RunAsync(int threads, EngineOptions options, int maxTokens, int rounds, string[] models)
    {
        Console.WriteLine($"threads: {threads}, num_speculative_tokens: {options.NumSpeculativeTokens}, prompt_lookup_max/min: {options.PromptLookupMax}/{options.PromptLookupMin}, max_tokens: {maxTokens}, {rounds} rounds, arms interleaved");
        Console.WriteLine();
        var table = new Table("model", "prompt", "sampling", "plain tok/s", "speculative tok/s", "ratio", "acceptance", "tokens/step");
        var costs = new Table("model", $"forward of 1 token, ms", $"forward of {1 + options.NumSpeculativeTokens} tokens (a verify step), ms", "cost ratio");
        foreach (var path in models.Length > 0 ? models : [BenchModels.Stories260KGguf, BenchModels.TinyStories656KGguf])
        {
            using var model = LlamaModel.Load(path);
            using var plainBackend = new CpuBackend(model.Config, model.Weights, new BackendOptions { Threads = threads });
            using var specBackend = new CpuBackend(model.Config, model.Weights, new BackendOptions { Threads = threads });
            using var plainEngine = new InferenceEngine(model, plainBackend, new EngineOptions());
            using var specEngine = new InferenceEngine(model, specBackend, options);
            var (one, verify) = ForwardCost(model, threads, 1 + options.NumSpeculativeTokens);
            costs.Add(Path.GetFileNameWithoutExtension(path), one, verify, $"{verify / one:F2}×");
            foreach (var (name, prompt) in await PromptsAsync(model, plainEngine))
            {
                foreach (var sampling in new[] { SamplingParameters.Greedy, new SamplingParameters { Temperature = 0.7f, TopP = 0.95f, Seed = 7 } })
                {
                    var request = new GenerationRequest(prompt, maxTokens, sampling, [], IgnoreEos: true);
                    Arm plain = new("plain", plainEngine), spec = new("speculative", specEngine);
                    await RunAsync(plain, request); // warm-up, not counted
                    await RunAsync(spec, request);
                    plain.Seconds = spec.Seconds = plain.Tokens = spec.Tokens = 0;
                    var before = specEngine.Statistics;
                    for (var round = 0; round < rounds; round++)
                    {
                        Arm[] order = round % 2 == 0 ? [plain, spec] : [spec, plain];
                        var outputs = new List<List<int>>();
                        foreach (var arm in order)
                        {
                            outputs.Add(await RunAsync(arm, request));
                        }

                        if (!outputs[0].SequenceEqual(outputs[1]))
                        {
                            throw new InvalidOperationException($"{name}: speculative output differs from plain decoding");
                        }
                    }

                    var after = specEngine.Statistics;
                    var drafted = after.SpecDecodeDraftTokens - before.SpecDecodeDraftTokens;
                    var accepted = after.SpecDecodeAcceptedTokens - before.SpecDecodeAcceptedTokens;
                    var steps = after.Steps - before.Steps - rounds; // less each request's prefill step
                    var plainRate = plain.Tokens / plain.Seconds;
                    var specRate = spec.Tokens / spec.Seconds;
                    table.Add(Path.GetFileNameWithoutExtension(path), name, sampling.IsGreedy ? "greedy" : "T 0.7, top-p 0.95",
                        plainRate, specRate, $"{specRate / plainRate:F2}×", drafted == 0 ? "-" : $"{100.0 * accepted / drafted:F0}% ({accepted}/{drafted})",
                        (double)spec.Tokens / Math.Max(1, steps));
                }
            }
        }

        table.Print();
        Console.WriteLine("ratio = speculative ÷ plain decode tokens/s; acceptance = accepted ÷ drafted tokens; tokens/step = decode tokens per speculative step.");
        Console.WriteLine();
        costs.Print();
        Console.WriteLine("The speed-up is about tokens/step ÷ the cost ratio: speculation pays where a step's cost hardly grows with its tokens (weights streamed from memory), not where the model's arithmetic per token dominates.");
    }

    /// <summary>Median milliseconds of one forward pass of 1 and of <paramref name="tokens"/> tokens at positions 200 on, logits for each.</summary>
    private static (double One, double Verify) ForwardCost(LlamaModel model, int threads, int tokens)
    {
        using var backend = new CpuBackend(model.Config, model.Weights, new BackendOptions { Threads = threads, KvBlockCount = 32 });
        int[] table = [.. Enumerable.Range(0, 32)];
        var logits = new float[tokens * model.Config.VocabSize];
        var batch = new ForwardBatch();
        double Median(int count)
        {
            var times = new List<double>();
            for (var run = 0; run < 41; run++)
            {
                batch.Clear();
                var seq = batch.AddSequence(table);
                for (var i = 0; i < count; i++)
                {
                    batch.AddToken(seq, 3 + i, 200 + i, wantLogits: true);
                }

                var start = Stopwatch.GetTimestamp();
                backend.Forward(batch, logits);
                times.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
            }

            times.Sort();
            return times[times.Count / 2];
        }

        return (Median(1), Median(tokens));
    }

    /// <summary>
    /// Prompts whose continuation copies from the prompt, as a grounded answer quotes its source:
    /// <c>retell</c> is a story the model itself wrote (greedy, from "Once upon a time") followed by
    /// the start of a new story; <c>quote</c> a written passage then its first words again;
    /// <c>fresh</c>, the control, a story start with nothing to copy.
    /// </summary>
    private static async Task<List<(string Name, int[] Prompt)>> PromptsAsync(LlamaModel model, InferenceEngine engine)
    {
        var tokenizer = model.Tokenizer;
        var start = tokenizer.Encode("Once upon a time", true);
        var story = new List<int>();
        await foreach (var chunk in engine.Submit(new GenerationRequest(start, 120, SamplingParameters.Greedy, []), CancellationToken.None).ReadAllAsync())
        {
            story.AddRange(chunk.TokenIds);
        }

        const string passage = "Tom had a big red ball. He took the ball to the park to play with his friend Sue. Sue kicked the ball very high and it went into a tree. Tom and Sue were sad, but a kind man helped them get the ball down.";
        int[] restart = [tokenizer.EosId, .. start];
        return
        [
            ("retell", [.. start, .. story, .. restart]),
            ("quote", [.. tokenizer.Encode(passage, true), .. restart[..1], .. tokenizer.Encode("Tom had a big", true)]),
            ("fresh", start),
        ];
    }

    private static async Task<List<int>> RunAsync(Arm arm, GenerationRequest request)
    {
        var tokens = new List<int>();
        long first = 0;
        await foreach (var chunk in arm.Engine.Submit(request, CancellationToken.None).ReadAllAsync())
        {
            if (first == 0 && chunk.TokenIds.Count > 0)
            {
                first = Stopwatch.GetTimestamp();
            }

            tokens.AddRange(chunk.TokenIds);
        }

        arm.Seconds += Stopwatch.GetElapsedTime(first).TotalSeconds;
        arm.Tokens += tokens.Count - 1;
        return tokens;
    }
}
