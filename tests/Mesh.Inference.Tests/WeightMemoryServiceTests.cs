using Grpc.Net.Client;
using Mesh.Inference.V1;
using Mesh.Inference.Tests.Tokenization;
using Mesh.ServiceDefaults;

namespace Mesh.Inference.Tests;

/// <summary>
/// <c>--Inference:WeightMemory</c> on the real host: each value loads the model and answers over
/// loopback gRPC with the same greedy tokens (the weights are the same bytes wherever they live).
/// </summary>
public sealed class WeightMemoryServiceTests
{
    [Fact]
    public async Task EachSettingServesTheSameGreedyTokens()
    {
        var tokens = new List<IList<int>>();
        foreach (var memory in new[] { "Mapped", "HugePages", "Auto" })
        {
            tokens.Add(await Complete(memory));
        }

        Assert.Equal(24, tokens[0].Count);
        Assert.All(tokens, t => Assert.Equal(tokens[0], t));
    }

    private static async Task<IList<int>> Complete(string memory)
    {
        var app = InferenceHost.CreateApp(
        [
            "--Mesh:Endpoints:Grpc=http://127.0.0.1:0",
            "--Mesh:Endpoints:Http=http://127.0.0.1:0",
            "--Inference:Device=cpu",
            "--Inference:Threads=2",
            $"--Inference:WeightMemory={memory}",
            "--Inference:Models:0:Id=m",
            $"--Inference:Models:0:Path={TestModels.Stories260KGguf}",
            "--Logging:LogLevel:Default=Warning",
        ]);
        await app.StartAsync();
        try
        {
            using var channel = GrpcChannel.ForAddress(app.GetGrpcAddress());
            var client = new InferenceService.InferenceServiceClient(channel);
            var reply = await client.CompleteAsync(new GenerateRequest
            {
                Model = "m", Prompt = "Once upon a time", MaxTokens = 24, Sampling = new SamplingParams { Temperature = 0 }, IgnoreEos = true,
            });
            return reply.TokenIds;
        }
        finally
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }
}
