using Grpc.Net.Client;
using Mesh.Inference.Tests.Tokenization;
using Mesh.Inference.V1;
using Mesh.ServiceDefaults;
using Microsoft.AspNetCore.Builder;

namespace Mesh.Inference.Tests.Engine;

/// <summary>
/// Speculative decoding switched on server-wide (<c>Inference:Engine:NumSpeculativeTokens</c>) in the
/// real host over loopback gRPC: every answer equals the answer of a host without it, the
/// <c>spec_decode</c> counters reach /metrics, and a setting out of range stops the host at start.
/// </summary>
public sealed class SpeculativeServiceTests
{
    [Fact]
    public async Task AHostWithSpeculationAnswersExactlyAsOneWithout()
    {
        await using var plain = await StartAsync();
        await using var spec = await StartAsync("--Inference:Engine:NumSpeculativeTokens=4");
        var story = await plain.Client.CompleteAsync(Request("Once upon a time", 100, new SamplingParams { Temperature = 0 }));
        var retell = story.Text + " Once upon a time";
        foreach (var sampling in new[] { new SamplingParams { Temperature = 0 }, new SamplingParams { Temperature = 0.8f, Seed = 5 } })
        {
            foreach (var request in new[]
            {
                Request(retell, 80, sampling, logprobs: 2),
                Request(retell, 17, sampling),
                Request(retell, 80, sampling, stop: story.Text.Split(' ')[12]),
            })
            {
                var expected = await plain.Client.CompleteAsync(request);
                var actual = await spec.Client.CompleteAsync(request);
                Assert.Equal(expected.TokenIds, actual.TokenIds);
                Assert.Equal(expected.Text, actual.Text);
                Assert.Equal(expected.FinishReason, actual.FinishReason);
                Assert.Equal(expected.Logprobs, actual.Logprobs);
            }
        }

        using var http = new HttpClient();
        var metrics = "";
        // The exporter caches a scrape briefly; wait for one that has the counters.
        for (var i = 0; i < 50 && !metrics.Contains("mesh_inference_spec_decode_num_accepted_tokens", StringComparison.Ordinal); i++)
        {
            await Task.Delay(100);
            metrics = await http.GetStringAsync(new Uri(spec.HttpAddress, "/metrics"));
        }

        var accepted = Counter(metrics, "mesh_inference_spec_decode_num_accepted_tokens");
        var drafted = Counter(metrics, "mesh_inference_spec_decode_num_draft_tokens");
        Assert.True(accepted > 0 && accepted <= drafted, $"accepted {accepted} of {drafted} drafted");
    }

    [Fact]
    public void ASpeculationSettingOutOfRangeStopsTheHostAtStartNamingIt()
    {
        var error = Assert.Throws<Microsoft.Extensions.Options.OptionsValidationException>(() => InferenceHost.CreateApp(Arguments("--Inference:Engine:NumSpeculativeTokens=99")));
        Assert.Contains("Inference:Engine: NumSpeculativeTokens must be 0 (off) to 16", error.Message);
    }

    private static double Counter(string metrics, string name) =>
        metrics.Split('\n').Where(l => l.StartsWith(name, StringComparison.Ordinal)).Select(l => double.Parse(l[(l.LastIndexOf(' ') + 1)..], System.Globalization.CultureInfo.InvariantCulture)).Sum();

    private static GenerateRequest Request(string prompt, int maxTokens, SamplingParams sampling, int logprobs = 0, string? stop = null)
    {
        var request = new GenerateRequest { Model = "stories260K", Prompt = prompt, MaxTokens = maxTokens, Sampling = sampling, IgnoreEos = true, TopLogprobs = logprobs };
        if (stop is not null)
        {
            request.Stop.Add(stop);
        }

        return request;
    }

    private static string[] Arguments(params string[] extra) =>
    [
        "--Mesh:Endpoints:Grpc=http://127.0.0.1:0",
        "--Mesh:Endpoints:Http=http://127.0.0.1:0",
        "--Inference:Device=cpu",
        "--Inference:Models:0:Id=stories260K",
        $"--Inference:Models:0:Path={TestModels.Stories260KGguf}",
        "--Logging:LogLevel:Default=Warning",
        .. extra,
    ];

    private static async Task<Host> StartAsync(params string[] extra)
    {
        var app = InferenceHost.CreateApp(Arguments(extra));
        await app.StartAsync();
        var channel = GrpcChannel.ForAddress(app.GetGrpcAddress());
        return new Host(app, channel, new InferenceService.InferenceServiceClient(channel), app.GetBoundAddresses()[1]);
    }

    private sealed record Host(WebApplication App, GrpcChannel Channel, InferenceService.InferenceServiceClient Client, Uri HttpAddress) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            Channel.Dispose();
            await App.StopAsync();
            await App.DisposeAsync();
        }
    }
}
