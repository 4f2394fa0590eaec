using Mesh.Inference.Backends;
using Mesh.Inference.Engine;
using Mesh.Inference.Sampling;
using Mesh.Inference.Tests.Tokenization;

namespace Mesh.Inference.Tests;

/// <summary>
/// Many requests with random cancellations and deadlines: every KV block returns and managed memory
/// stays flat. Runs alone (it measures the whole process).
/// </summary>
[Collection(SerialCollection.Name)]
public sealed class EngineLeakTests
{
    private static readonly string[] Prompts = ["Once upon a time", "The little dog", "Lily and Ben went to the park. They", "Tom was sad because"];

    [Fact]
    public async Task AThousandRequestsWithCancellationsAndDeadlinesReturnEveryBlock()
    {
        using var harness = new EngineHarness(TestModels.Stories260KGguf, new EngineOptions { MaxRunningSequences = 32, MaxWaitingRequests = 2000 }, new BackendOptions { KvBlockCount = 256 });
        var random = new Random(7);
        long memoryAfterWarmUp = 0;
        for (var round = 0; round < 10; round++)
        {
            var tasks = new List<Task>();
            for (var i = 0; i < 100; i++)
            {
                var prompt = Prompts[random.Next(Prompts.Length)];
                var sampling = new SamplingParameters { Temperature = 0.8f, Seed = (ulong)random.Next() };
                var request = new GenerationRequest(harness.Model.Tokenizer.Encode(prompt, true), random.Next(1, 40), sampling, [], IgnoreEos: true);
                var cts = new CancellationTokenSource();
                switch (random.Next(3))
                {
                    case 0:
                        cts.CancelAfter(random.Next(0, 30)); // a deadline
                        break;
                    case 1:
                        _ = Task.Delay(random.Next(0, 20)).ContinueWith(_ => cts.Cancel(), TaskScheduler.Default); // a client going away
                        break;
                }

                tasks.Add(harness.RunAsync(request, cts.Token).ContinueWith(_ => cts.Dispose(), TaskScheduler.Default));
            }

            await Task.WhenAll(tasks);
            await WaitUntil(() => harness.Engine.Statistics.UsedBlocks == 0 && harness.Engine.Statistics.Running == 0);
            Assert.Equal(0, harness.Engine.Statistics.UsedBlocks);
            Assert.Equal(harness.Engine.Statistics.TotalBlocks, harness.Engine.Statistics.AvailableBlocks);
            if (round == 1)
            {
                memoryAfterWarmUp = Collect();
            }
        }

        var growth = Collect() - memoryAfterWarmUp;
        Assert.True(growth < 8 << 20, $"managed memory grew by {growth / 1024} KiB over 800 requests");
    }

    private static long Collect()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        return GC.GetTotalMemory(forceFullCollection: true);
    }

    private static async Task WaitUntil(Func<bool> condition)
    {
        for (var i = 0; i < 100 && !condition(); i++)
        {
            await Task.Delay(20);
        }
    }
}
