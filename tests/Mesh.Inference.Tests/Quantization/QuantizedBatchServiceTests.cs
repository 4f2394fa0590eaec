using Grpc.Core;
using Grpc.Net.Client;
using LLama.Native;
using Mesh.Inference.V1;
using Mesh.ServiceDefaults;

namespace Mesh.Inference.Tests.Quantization;

/// <summary>
/// A quantized model served by the real host over loopback gRPC gives every greedy request the same
/// tokens whether it runs alone or streams beside others: concurrent requests are batched into the
/// same steps (prefill tiles, decode steps of several tokens, grouped attention), so this holds only
/// if a token's logits do not depend on the batch around it.
/// </summary>
public sealed class QuantizedBatchServiceTests(QuantizedModelsFixture files) : IClassFixture<QuantizedModelsFixture>
{
    private static readonly string[] Prompts =
    [
        "Once upon a time",
        "The little dog ran to the park and saw a big red ball",
        "Lily",
        "One day, Tom and his mom went to the store to buy some milk. They saw",
        "The sun was hot",
        "She liked to play with her toys in the garden every",
    ];

    [Theory]
    [InlineData(LLamaFtype.MOSTLY_Q4_0, 3)]
    [InlineData(LLamaFtype.MOSTLY_Q5_1, 2)]
    [InlineData(LLamaFtype.MOSTLY_Q4_K_M, 3)]
    [InlineData(LLamaFtype.MOSTLY_Q8_0, 5)]
    public async Task GreedyTokensAreTheSameAloneAndInABatchOfConcurrentStreams(LLamaFtype fileType, int threads)
    {
        var app = InferenceHost.CreateApp(
        [
            "--Mesh:Endpoints:Grpc=http://127.0.0.1:0",
            "--Mesh:Endpoints:Http=http://127.0.0.1:0",
            "--Inference:Device=cpu",
            $"--Inference:Threads={threads}",
            "--Inference:Models:0:Id=quantized",
            $"--Inference:Models:0:Path={files.Get(fileType)}",
            "--Logging:LogLevel:Default=Warning",
        ]);
        await app.StartAsync();
        try
        {
            using var channel = GrpcChannel.ForAddress(app.GetGrpcAddress());
            var client = new InferenceService.InferenceServiceClient(channel);
            var alone = new List<IList<int>>();
            foreach (var prompt in Prompts)
            {
                alone.Add((await client.CompleteAsync(Request(prompt))).TokenIds);
            }

            // Each prompt twice, all at once: the engine batches their prefills and decode steps.
            var streams = Prompts.Concat(Prompts).Select(async prompt =>
            {
                using var call = client.Generate(Request(prompt));
                var ids = new List<int>();
                await foreach (var m in call.ResponseStream.ReadAllAsync())
                {
                    ids.AddRange(m.TokenIds);
                }

                return ids;
            }).ToArray();
            var together = await Task.WhenAll(streams);
            for (var i = 0; i < together.Length; i++)
            {
                var expected = alone[i % Prompts.Length];
                Assert.True(
                    expected.SequenceEqual(together[i]),
                    $"{fileType}, {threads} threads, stream {i} ('{Prompts[i % Prompts.Length]}'): alone [{string.Join(' ', expected)}], batched [{string.Join(' ', together[i])}]");
            }

            Assert.All(alone, ids => Assert.Equal(24, ids.Count));
        }
        finally
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }

    private static GenerateRequest Request(string prompt) =>
        new() { Model = "quantized", Prompt = prompt, MaxTokens = 24, Sampling = new SamplingParams { Temperature = 0 }, IgnoreEos = true };
}
