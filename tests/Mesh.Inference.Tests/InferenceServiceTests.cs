using Grpc.Core;
using Mesh.Inference.V1;

namespace Mesh.Inference.Tests;

/// <summary>The Inference service over real gRPC on loopback.</summary>
public sealed class InferenceServiceTests(InferenceServiceFixture service) : IClassFixture<InferenceServiceFixture>
{
    private InferenceService.InferenceServiceClient Client => service.Client;

    [Fact]
    public async Task GenerateStreamsTextDeltasAndEndsWithUsage()
    {
        using var call = Client.Generate(Request("Once upon a time", 40));
        var messages = new List<GenerateResponse>();
        await foreach (var m in call.ResponseStream.ReadAllAsync())
        {
            messages.Add(m);
        }

        Assert.True(messages.Count > 10, "the answer arrived in one piece instead of streaming");
        var last = messages[^1];
        Assert.Equal(FinishReason.Length, last.FinishReason);
        Assert.Equal(40, last.Usage.CompletionTokens);
        Assert.Equal(5, last.Usage.PromptTokens);
        Assert.All(messages[..^1], m => Assert.Equal(FinishReason.Unspecified, m.FinishReason));
        var text = string.Concat(messages.Select(m => m.Text));
        Assert.StartsWith(", there was a little girl named Lily", text, StringComparison.Ordinal);

        var complete = await Client.CompleteAsync(Request("Once upon a time", 40));
        Assert.Equal(text, complete.Text);
        Assert.Equal(messages.SelectMany(m => m.TokenIds), complete.TokenIds);
    }

    [Fact]
    public async Task StopSequencesEndGenerationWithoutBeingReturned()
    {
        var request = Request("Once upon a time", 100);
        request.Stop.Add("Lily");
        var response = await Client.CompleteAsync(request);
        Assert.Equal(FinishReason.Stop, response.FinishReason);
        Assert.Equal(", there was a little girl named ", response.Text);
    }

    [Fact]
    public async Task TopLogprobsComeWithEveryToken()
    {
        var request = Request("Once upon a time", 5);
        request.TopLogprobs = 3;
        var response = await Client.CompleteAsync(request);
        Assert.Equal(5, response.Logprobs.Count);
        Assert.All(response.Logprobs, lp =>
        {
            Assert.Equal(3, lp.Top.Count);
            Assert.Equal(lp.Top[0].TokenId, lp.TokenId); // greedy picks the most likely token
            Assert.True(lp.Logprob <= 0);
        });
    }

    [Fact]
    public async Task CancellingAStreamStopsGenerationAndFreesItsBlocks()
    {
        using var cts = new CancellationTokenSource();
        using var call = Client.Generate(Request("Once upon a time", 400), cancellationToken: cts.Token);
        var received = 0;
        var e = await Assert.ThrowsAsync<RpcException>(async () =>
        {
            await foreach (var _ in call.ResponseStream.ReadAllAsync(cts.Token))
            {
                if (++received == 3)
                {
                    await cts.CancelAsync();
                }
            }
        });
        Assert.Equal(StatusCode.Cancelled, e.StatusCode);

        // The server notices within a step; a fresh request is then served normally.
        var after = await Client.CompleteAsync(Request("Once upon a time", 3));
        Assert.Equal(3, after.Usage.CompletionTokens);
    }

    [Fact]
    public async Task ADeadlineEndsALongGeneration()
    {
        // 500 tokens (the context holds no more) take ~27 ms at stories260K's ~18,000 tok/s on the Zen 5
        // dev VM (2026-12-01; ~3,300 tok/s a month earlier, when this deadline was 30 ms and then lost the
        // race once the decode got faster), so a 5 ms deadline leaves a margin of five.
        var request = Request("Once upon a time", 500);
        request.IgnoreEos = true;
        var e = await Assert.ThrowsAsync<RpcException>(() => Client.CompleteAsync(request, deadline: DateTime.UtcNow.AddMilliseconds(5)).ResponseAsync);
        Assert.Equal(StatusCode.DeadlineExceeded, e.StatusCode);
    }

    [Fact]
    public async Task TokenizeDetokenizeAndScoreAgree()
    {
        var tokens = await Client.TokenizeAsync(new TokenizeRequest { Model = "stories260K", Text = "Once upon a time" });
        Assert.Equal([1, 403, 407, 261, 378], tokens.TokenIds);
        var text = await Client.DetokenizeAsync(new DetokenizeRequest { Model = "stories260K", TokenIds = { tokens.TokenIds } });
        Assert.Equal("Once upon a time", text.Text);
        var score = await Client.ScoreAsync(new ScoreRequest { Model = "stories260K", Text = "Once upon a time" });
        Assert.Equal(4, score.ScoredTokens);
        Assert.Equal(-score.Logprobs.Sum(l => (double)l), score.Nll, 4);
        Assert.Equal(Math.Exp(score.Nll / 4), score.Perplexity, 4);
    }

    [Fact]
    public async Task ListModelsDescribesTheModel()
    {
        var models = await Client.ListModelsAsync(new ListModelsRequest());
        var m = Assert.Single(models.Models);
        Assert.Equal("stories260K", m.Id);
        Assert.Equal("gguf", m.Format);
        Assert.Equal(512, m.VocabSize);
        Assert.Equal(5, m.Layers);
        Assert.Equal("cpu", m.Backend);
        // No server file path, in any field: callers hold API keys, not the server's file system.
        var everything = Google.Protobuf.JsonFormatter.Default.Format(models);
        Assert.DoesNotContain("stories260K.gguf", everything, StringComparison.Ordinal);
        Assert.DoesNotContain(Path.GetDirectoryName(Tokenization.TestModels.Stories260KGguf)!, everything, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TenantsFromTheGatewayDoNotShareThePrefixCache()
    {
        // Long enough for two full KV blocks; a prompt of its own, as the fixture's engine is shared.
        var request = Request("Lily and Ben went to the park with their mom. They saw a big tree with red apples and a small bird singing on a branch.", 2);
        async Task<int> CachedFor(string tenant) =>
            (await Client.CompleteAsync(request, new Metadata { { "x-mesh-tenant", tenant } })).Usage.CachedPromptTokens;

        Assert.Equal(0, await CachedFor("tenant-a"));
        Assert.Equal(0, await CachedFor("tenant-b"));
        Assert.True(await CachedFor("tenant-a") >= 32, "a tenant's repeated prompt was not served from its cache");
        Assert.True(await CachedFor("tenant-b") >= 32, "a tenant's repeated prompt was not served from its cache");
    }

    public static TheoryData<string, Action<GenerateRequest>, StatusCode, string> BadRequests => new()
    {
        { "unknown model", r => r.Model = "gpt-17", StatusCode.NotFound, "gpt-17" },
        { "no model", r => r.Model = "", StatusCode.InvalidArgument, "model is required" },
        { "max_tokens 0", r => r.MaxTokens = 0, StatusCode.InvalidArgument, "max_tokens" },
        { "max_tokens negative", r => r.MaxTokens = -3, StatusCode.InvalidArgument, "max_tokens" },
        { "beyond the context", r => r.MaxTokens = 600, StatusCode.InvalidArgument, "context" },
        { "negative temperature", r => r.Sampling = new SamplingParams { Temperature = -0.5f }, StatusCode.InvalidArgument, "temperature" },
        { "top_p zero", r => r.Sampling = new SamplingParams { TopP = 0f }, StatusCode.InvalidArgument, "top_p" },
        { "top_p above one", r => r.Sampling = new SamplingParams { TopP = 1.5f }, StatusCode.InvalidArgument, "top_p" },
        { "empty prompt", r => r.Prompt = "", StatusCode.InvalidArgument, "prompt" },
        { "empty stop", r => r.Stop.Add(""), StatusCode.InvalidArgument, "stop[0]" },
        { "lone surrogate in stop", r => r.Stop.Add("ab\uD800"), StatusCode.InvalidArgument, "stop[0]" },
        { "token id out of range", r => { r.Prompt = ""; r.PromptTokenIds.Add(9999); }, StatusCode.InvalidArgument, "9999" },
    };

    [Theory]
    [MemberData(nameof(BadRequests))]
    public async Task BadRequestsGetTheRightStatusAndSayWhatToFix(string name, Action<GenerateRequest> spoil, StatusCode code, string mentions)
    {
        var request = Request("Once upon a time", 10);
        spoil(request);
        var e = await Assert.ThrowsAsync<RpcException>(() => Client.CompleteAsync(request).ResponseAsync);
        Assert.True(code == e.StatusCode, $"{name}: expected {code}, got {e.StatusCode} ({e.Status.Detail})");
        Assert.Contains(mentions, e.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task InvalidUtf8InAStopSequenceIsRejected()
    {
        // Serialise a valid request, then corrupt the stop string's bytes on the wire: 0xFF never occurs in UTF-8.
        var request = Request("Once upon a time", 10);
        request.Stop.Add("zz");
        var bytes = Google.Protobuf.MessageExtensions.ToByteArray(request);
        var at = bytes.AsSpan().IndexOf("zz"u8);
        bytes[at] = 0xFF;
        var method = new Method<byte[], byte[]>(MethodType.Unary, "mesh.inference.v1.InferenceService", "Complete", Marshallers.Create(b => b, b => b), Marshallers.Create(b => b, b => b));
        var invoker = service.Channel.CreateCallInvoker();
        var e = await Assert.ThrowsAsync<RpcException>(() => invoker.AsyncUnaryCall(method, null, default, bytes).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
        Assert.Contains("UTF-8", e.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheHostServesHealthAndReflection()
    {
        var health = new Grpc.Health.V1.Health.HealthClient(service.Channel);
        var status = await health.CheckAsync(new Grpc.Health.V1.HealthCheckRequest());
        Assert.Equal(Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus.Serving, status.Status);

        var reflection = new Grpc.Reflection.V1Alpha.ServerReflection.ServerReflectionClient(service.Channel);
        using var call = reflection.ServerReflectionInfo();
        await call.RequestStream.WriteAsync(new Grpc.Reflection.V1Alpha.ServerReflectionRequest { ListServices = "" });
        await call.RequestStream.CompleteAsync();
        Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None));
        var services = call.ResponseStream.Current.ListServicesResponse.Service.Select(s => s.Name).ToList();
        Assert.Contains("mesh.inference.v1.InferenceService", services);
        Assert.Contains("grpc.health.v1.Health", services);
    }

    [Fact]
    public async Task PrometheusMetricsFollowTheGenAiAndVllmNames()
    {
        await Client.CompleteAsync(Request("Once upon a time", 3));
        using var http = new HttpClient();
        string metrics = "";
        // The exporter caches a scrape briefly; wait for one that includes the request.
        for (var i = 0; i < 50 && !metrics.Contains("gen_ai_server_time_to_first_token", StringComparison.Ordinal); i++)
        {
            await Task.Delay(100);
            metrics = await http.GetStringAsync(new Uri(service.HttpAddress, "/metrics"));
        }

        foreach (var name in new[]
        {
            "gen_ai_server_time_to_first_token", "gen_ai_server_time_per_output_token", "gen_ai_server_request_duration",
            "mesh_inference_requests_running", "mesh_inference_requests_waiting", "mesh_inference_kv_cache_blocks_used",
            "mesh_inference_kv_cache_blocks_free", "mesh_inference_prefix_cache_queries", "mesh_inference_prefix_cache_hits",
            "mesh_inference_prompt_tokens", "mesh_inference_generation_tokens",
        })
        {
            Assert.Contains(name, metrics, StringComparison.Ordinal);
        }
    }

    private static GenerateRequest Request(string prompt, int maxTokens) => new()
    {
        Model = "stories260K",
        Prompt = prompt,
        MaxTokens = maxTokens,
        Sampling = new SamplingParams { Temperature = 0 },
    };
}
