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

    /// <param name="attentionBaseline">
    /// Also run both arms on backends with the per-token attention loop
    /// (<see cref="BackendOptions.PerTokenAttention"/>), all four arms interleaved, so the speed-up before
    /// and after <see cref="CpuAttention"/> come from the same run.
    /// </param>
    public static async Task RunAsync(int threads, EngineOptions options, int maxTokens, int rounds, string[] models, bool attentionBaseline = false)
    {
        Console.WriteLine($"threads: {threads}, num_speculative_tokens: {options.NumSpeculativeTokens}, prompt_lookup_max/min: {options.PromptLookupMax}/{options.PromptLookupMin}, max_tokens: {maxTokens}, {rounds} rounds, arms interleaved{(attentionBaseline ? ", per-token attention baseline in the same run" : "")}");
        Console.WriteLine();
        var verifyTokens = 1 + options.NumSpeculativeTokens;
        var table = attentionBaseline
            ? new Table("model", "prompt", "sampling", "plain tok/s (per-token attention)", "speculative tok/s (per-token attention)", "ratio before", "plain tok/s", "speculative tok/s", "ratio after", "acceptance", "tokens/step")
            : new Table("model", "prompt", "sampling", "plain tok/s", "speculative tok/s", "ratio", "acceptance", "tokens/step");
        var costs = attentionBaseline
            ? new Table("model", "1 token, ms (per-token attention)", $"{verifyTokens} tokens, ms (per-token attention)", "cost ratio before", "1 token, ms", $"{verifyTokens} tokens, ms", "cost ratio after")
            : new Table("model", $"forward of 1 token, ms", $"forward of {verifyTokens} tokens (a verify step), ms", "cost ratio");
        foreach (var path in models.Length > 0 ? models : [BenchModels.Stories260KGguf, BenchModels.TinyStories656KGguf])
        {
            using var model = LlamaModel.Load(path);
            var backends = new List<CpuBackend>();
            var engines = new List<InferenceEngine>();
            InferenceEngine Engine(EngineOptions engineOptions, bool perToken)
            {
                var backend = new CpuBackend(model.Config, model.Weights, new BackendOptions { Threads = threads, PerTokenAttention = perToken });
                backends.Add(backend);
                var engine = new InferenceEngine(model, backend, engineOptions);
                engines.Add(engine);
                return engine;
            }

            try
            {
                var name = Path.GetFileNameWithoutExtension(path);
                var plainEngine = Engine(new EngineOptions(), perToken: false);
                var specEngine = Engine(options, perToken: false);
                var basePlainEngine = attentionBaseline ? Engine(new EngineOptions(), perToken: true) : null;
                var baseSpecEngine = attentionBaseline ? Engine(options, perToken: true) : null;
                if (attentionBaseline)
                {
                    // Interleaved: a burst of load elsewhere hits both attention loops alike.
                    var (baseOne, baseVerify, one, verify) = (0.0, 0.0, 0.0, 0.0);
                    for (var repeat = 0; repeat < 3; repeat++)
                    {
                        var (b1, bv) = ForwardCost(model, threads, verifyTokens, perToken: true);
                        var (n1, nv) = ForwardCost(model, threads, verifyTokens, perToken: false);
                        (baseOne, baseVerify, one, verify) = (baseOne + b1, baseVerify + bv, one + n1, verify + nv);
                    }

                    costs.Add(name, baseOne / 3, baseVerify / 3, $"{baseVerify / baseOne:F2}×", one / 3, verify / 3, $"{verify / one:F2}×");
                }
                else
                {
                    var (one, verify) = ForwardCost(model, threads, verifyTokens, perToken: false);
                    costs.Add(name, one, verify, $"{verify / one:F2}×");
                }

                foreach (var (prompt, tokens) in await PromptsAsync(model, plainEngine))
                {
                    foreach (var sampling in new[] { SamplingParameters.Greedy, new SamplingParameters { Temperature = 0.7f, TopP = 0.95f, Seed = 7 } })
                    {
                        var request = new GenerationRequest(tokens, maxTokens, sampling, [], IgnoreEos: true);
                        Arm plain = new("plain", plainEngine), spec = new("speculative", specEngine);
                        List<Arm> arms = [plain, spec];
                        Arm? basePlain = null, baseSpec = null;
                        if (attentionBaseline)
                        {
                            basePlain = new("plain, per-token attention", basePlainEngine!);
                            baseSpec = new("speculative, per-token attention", baseSpecEngine!);
                            arms.AddRange([basePlain, baseSpec]);
                        }

                        foreach (var arm in arms)
                        {
                            await RunAsync(arm, request); // warm-up, not counted
                            arm.Seconds = arm.Tokens = 0;
                        }

                        var before = specEngine.Statistics;
                        for (var round = 0; round < rounds; round++)
                        {
                            // Each round starts at another arm, so no arm always runs first.
                            var order = arms.Skip(round % arms.Count).Concat(arms.Take(round % arms.Count)).ToList();
                            var outputs = new Dictionary<Arm, List<int>>(ReferenceEqualityComparer.Instance);
                            foreach (var arm in order)
                            {
                                outputs[arm] = await RunAsync(arm, request);
                            }

                            // Speculation must not change the output; the two attention loops sum in
                            // different orders, so they may (rarely) part at a near-tie, which is reported.
                            if (!outputs[spec].SequenceEqual(outputs[plain]) || (attentionBaseline && !outputs[baseSpec!].SequenceEqual(outputs[basePlain!])))
                            {
                                throw new InvalidOperationException($"{prompt}: speculative output differs from plain decoding");
                            }

                            if (attentionBaseline && !outputs[plain].SequenceEqual(outputs[basePlain!]))
                            {
                                Console.WriteLine($"note: {name} {prompt} {(sampling.IsGreedy ? "greedy" : "sampled")}: the per-token and run attention loops' outputs part at token {outputs[plain].Zip(outputs[basePlain!]).TakeWhile(p => p.First == p.Second).Count()}");
                            }
                        }

                        var after = specEngine.Statistics;
                        var drafted = after.SpecDecodeDraftTokens - before.SpecDecodeDraftTokens;
                        var accepted = after.SpecDecodeAcceptedTokens - before.SpecDecodeAcceptedTokens;
                        var steps = after.Steps - before.Steps - rounds; // less each request's prefill step
                        var plainRate = plain.Tokens / plain.Seconds;
                        var specRate = spec.Tokens / spec.Seconds;
                        var acceptance = drafted == 0 ? "-" : $"{100.0 * accepted / drafted:F0}% ({accepted}/{drafted})";
                        var sampled = sampling.IsGreedy ? "greedy" : "T 0.7, top-p 0.95";
                        var perStep = (double)spec.Tokens / Math.Max(1, steps);
                        if (attentionBaseline)
                        {
                            var basePlainRate = basePlain!.Tokens / basePlain.Seconds;
                            var baseSpecRate = baseSpec!.Tokens / baseSpec.Seconds;
                            table.Add(name, prompt, sampled, basePlainRate, baseSpecRate, $"{baseSpecRate / basePlainRate:F2}×",
                                plainRate, specRate, $"{specRate / plainRate:F2}×", acceptance, perStep);
                        }
                        else
                        {
                            table.Add(name, prompt, sampled, plainRate, specRate, $"{specRate / plainRate:F2}×", acceptance, perStep);
                        }
                    }
                }
            }
            finally
            {
                engines.ForEach(e => e.Dispose());
                backends.ForEach(b => b.Dispose());
            }
        }

        table.Print();
        Console.WriteLine("ratio = speculative ÷ plain decode tokens/s (before: both on the per-token attention loop); acceptance = accepted ÷ drafted tokens; tokens/step = decode tokens per speculative step.");
        Console.WriteLine();
        costs.Print();
        Console.WriteLine("The speed-up is about tokens/step ÷ the cost ratio: speculation pays where a step's cost hardly grows with its tokens (weights streamed from memory), not where the model's arithmetic per token dominates.");
    }

    /// <summary>Median milliseconds of one forward pass of 1 and of <paramref name="tokens"/> tokens at positions 200 on, logits for each.</summary>
    private static (double One, double Verify) ForwardCost(LlamaModel model, int threads, int tokens, bool perToken)
    {
        using var backend = new CpuBackend(model.Config, model.Weights, new BackendOptions { Threads = threads, KvBlockCount = 32, PerTokenAttention = perToken });
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
