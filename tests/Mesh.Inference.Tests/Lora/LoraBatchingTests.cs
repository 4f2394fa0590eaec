using Mesh.Inference.Backends;
using Mesh.Inference.Backends.Cpu;
using Mesh.Inference.Engine;
using Mesh.Inference.Hosting;
using Mesh.Inference.Models;
using Mesh.Inference.Models.Lora;
using Mesh.Inference.Tests.Tokenization;

namespace Mesh.Inference.Tests.Lora;

/// <summary>
/// Many adapters in one batch (Punica/S-LoRA): three different adapters and the bare base model decoded
/// together give each sequence the tokens, and the logits, it gets alone; and the prefix cache never
/// hands one adapter's KV to another.
/// </summary>
public sealed class LoraBatchingTests : IDisposable
{
    private const int Steps = 24;
    private static readonly int[][] Prompts = [[1, 80, 147, 201, 282, 57], [1, 80, 147, 201], [1, 400, 512, 733, 57, 8, 3], [1, 80, 147, 201, 282, 57]];
    private readonly string _folder = Directory.CreateTempSubdirectory("mesh-lora-batch-").FullName;

    [Fact]
    public void ThreeAdaptersAndTheBaseInOneBatchDecodeAsEachAlone()
    {
        using var model = LlamaModel.Load(TestModels.TinyStories656KGguf);
        using var backend = new CpuBackend(model.Config, model.Weights, new BackendOptions { KvBlockCount = 64, Threads = 2 });
        LoraAdapter?[] adapters = [.. Enumerable.Range(0, 3).Select(i => LoraTestAdapters.Random(model.Config, 4 + (2 * i), 16f, 100 + i, $"a{i}")), null];

        var alone = Enumerable.Range(0, Prompts.Length).Select(s => Decode(backend, model.Config.VocabSize, [s], adapters)[0]).ToArray();
        var together = Decode(backend, model.Config.VocabSize, [0, 1, 2, 3], adapters);

        for (var s = 0; s < Prompts.Length; s++)
        {
            Assert.Equal(alone[s].Tokens, together[s].Tokens);
            Assert.Equal(alone[s].Logits, together[s].Logits);
        }

        // The adapters matter: the base and the adapted run of the same prompt differ.
        Assert.NotEqual(together[3].Tokens, together[0].Tokens);
    }

    [Fact]
    public async Task TheEngineServesMixedAdaptersConcurrentlyAsAlone()
    {
        using var harness = new EngineHarness(TestModels.TinyStories656KGguf);
        LoraAdapter?[] adapters = [.. Enumerable.Range(0, 3).Select(i => LoraTestAdapters.Random(harness.Model.Config, 8, 16f, 200 + i, $"e{i}")), null];
        GenerationRequest Request(int s) => EngineHarness.Greedy(Prompts[s], Steps) with { Adapter = adapters[s] };

        var alone = new List<List<int>>();
        for (var s = 0; s < Prompts.Length; s++)
        {
            alone.Add((await harness.RunAsync(Request(s))).Tokens);
        }

        var together = await Task.WhenAll(Enumerable.Range(0, Prompts.Length).Select(s => harness.RunAsync(Request(s))));
        for (var s = 0; s < Prompts.Length; s++)
        {
            Assert.Equal(alone[s], together[s].Tokens);
        }

        Assert.NotEqual(alone[3], alone[0]);
    }

    [Fact]
    public async Task ThePrefixCacheIsSaltedByTheAdapter()
    {
        using var harness = new EngineHarness(TestModels.TinyStories656KGguf);
        var path = Path.Combine(_folder, "a.gguf");
        LoraAdapterFile.WriteGguf(LoraTestAdapters.Random(harness.Model.Config, 4, 8f, 300), "llama", path);
        var store = new LoraAdapterStore(harness.Engine);
        var first = store.Load("a", path);
        int[] prompt = [1, .. Enumerable.Range(0, 40).Select(i => 50 + (i * 37 % 1900))];
        async Task<int> Cached(LoraAdapter? adapter) =>
            (await harness.RunAsync(EngineHarness.Greedy(prompt, 2) with { Adapter = adapter })).Last.Usage!.CachedPromptTokens;

        Assert.Equal(0, await Cached(first));
        Assert.Equal(0, await Cached(null));
        Assert.Equal(32, await Cached(first));
        Assert.Equal(32, await Cached(null));
        // The same name loaded again is a new adapter to the cache.
        var second = store.Load("a", path);
        Assert.Equal(0, await Cached(second));
    }

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    /// <summary>Greedy decoding of the given sequences in one batch per step, each with its own KV blocks.</summary>
    private static (List<int> Tokens, List<float[]> Logits)[] Decode(CpuBackend backend, int vocab, int[] sequences, LoraAdapter?[] adapters)
    {
        var batch = new ForwardBatch();
        var results = sequences.Select(_ => (Tokens: new List<int>(), Logits: new List<float[]>())).ToArray();
        var logits = new float[sequences.Length * vocab];
        for (var step = 0; step <= Steps; step++)
        {
            batch.Clear();
            for (var j = 0; j < sequences.Length; j++)
            {
                var s = sequences[j];
                var seq = batch.AddSequence([.. Enumerable.Range(s * 8, 8)], adapters[s]);
                if (step == 0)
                {
                    for (var p = 0; p < Prompts[s].Length; p++)
                    {
                        batch.AddToken(seq, Prompts[s][p], p, p == Prompts[s].Length - 1);
                    }
                }
                else
                {
                    batch.AddToken(seq, results[j].Tokens[^1], Prompts[s].Length + step - 1, true);
                }
            }

            backend.Forward(batch, logits);
            for (var j = 0; j < sequences.Length; j++)
            {
                var row = logits.AsSpan(j * vocab, vocab);
                results[j].Logits.Add(row.ToArray());
                var best = 0;
                for (var t = 1; t < vocab; t++)
                {
                    best = row[t] > row[best] ? t : best;
                }

                results[j].Tokens.Add(best);
            }
        }

        return results;
    }
}
