using System.Globalization;
using Grpc.Core;
using Mesh.Gateway.Tests.Infrastructure;
using Mesh.Inference;
using Mesh.Inference.V1;
using Xunit.Abstractions;

namespace Mesh.Gateway.Tests.Faults;

/// <summary>
/// A burst through the gateway that overfills Inference's KV pool (8 blocks of 16 tokens: two of these
/// calls fit at once) and its queue (4 running, 4 waiting). Every call either runs to its full length
/// (waiting, preempted and recomputed as blocks free up) or is refused at once with RESOURCE_EXHAUSTED
/// and a retry hint; none hangs; a call that could never fit the pool is refused as INVALID_ARGUMENT, saying what to
/// shorten; and afterwards every block is free and the replica serves again.
/// </summary>
public sealed class KvPoolFaultTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const int Burst = 32;
    private const int MaxTokens = 48;
    private readonly TestKey _key = new("kv-burst", "acme", ["*"], ["*"]);
    private ServiceReplica _inference = null!;
    private GatewayUnderTest _gateway = null!;

    public async Task InitializeAsync()
    {
        _inference = await ServiceReplica.StartAsync(InferenceHost.CreateApp, 0,
            [.. MeshFixture.InferenceArgs, "--Inference:KvBlocks=8", "--Inference:Engine:MaxRunningSequences=4", "--Inference:Engine:MaxWaitingRequests=4"]);
        _gateway = await GatewayUnderTest.StartAsync(new Dictionary<string, IReadOnlyList<Uri>> { ["inference"] = [_inference.Address] }, [_key]);
    }

    public async Task DisposeAsync()
    {
        await _gateway.DisposeAsync();
        await _inference.DisposeAsync();
    }

    [Fact]
    public async Task An_overfilled_pool_queues_or_refuses_with_RESOURCE_EXHAUSTED_never_hangs_and_frees_every_block()
    {
        var client = new InferenceService.InferenceServiceClient(_gateway.Channel);
        // The deadline bounds the test only: a call that hangs ends DEADLINE_EXCEEDED, which the assertions refuse.
        var outcomes = await Task.WhenAll(Enumerable.Range(0, Burst).Select(i => Task.Run(() => GenerateAsync(client, $"Once upon a time {i}", MaxTokens))));

        var served = outcomes.Where(o => o.Status == StatusCode.OK).ToList();
        var refused = outcomes.Where(o => o.Status == StatusCode.ResourceExhausted).ToList();
        output.WriteLine($"{Burst} calls: {served.Count} served, {refused.Count} refused; other: {string.Join(", ", outcomes.Where(o => o.Status is not (StatusCode.OK or StatusCode.ResourceExhausted)).Select(o => $"{o.Status} {o.Detail}"))}");
        Assert.Equal(Burst, served.Count + refused.Count);
        Assert.NotEmpty(served);
        Assert.All(served, o => Assert.Equal(MaxTokens, o.Tokens));
        Assert.All(refused, o =>
        {
            Assert.Contains("requests are already waiting", o.Detail, StringComparison.Ordinal);
            Assert.True(o.RetryAfterMs > 0, $"no retry-after-ms on a refusal: {o.Detail}");
        });

        // 5 prompt tokens + 400 need 26 blocks of 16; the pool has 8.
        // Waiting can never help, so it is the caller's error with no retry hint (a retry loop on a 0 ms
        // hint would spin), and the message says how much the same prompt fits.
        var never = await GenerateAsync(client, "Once upon a time", 400);
        Assert.Equal(StatusCode.InvalidArgument, never.Status);
        Assert.Matches("needs 26 KV blocks but the cache has 8 of 16 tokens; lower max_tokens to at most 123", never.Detail);
        Assert.Equal(0, never.RetryAfterMs);

        // Every block is back (nothing leaked by preemption or refusal) and the replica serves.
        using var http = new HttpClient();
        var used = double.NaN;
        for (var i = 0; i < 100 && used != 0; i++)
        {
            used = Gauge(await http.GetStringAsync(new Uri(_inference.HttpAddress, "/metrics")), "mesh_inference_kv_cache_blocks_used");
            await Task.Delay(used == 0 ? 0 : 100);
        }

        Assert.Equal(0, used);
        Assert.Equal(StatusCode.OK, (await GenerateAsync(client, "The little dog", MaxTokens)).Status);
    }

    private async Task<Outcome> GenerateAsync(InferenceService.InferenceServiceClient client, string prompt, int maxTokens)
    {
        var request = new GenerateRequest
        {
            Model = "stories260K", Prompt = prompt, MaxTokens = maxTokens, IgnoreEos = true, Sampling = new SamplingParams { Temperature = 0 },
        };
        var tokens = 0;
        using var call = client.Generate(request, _key.Metadata, DateTime.UtcNow.AddMinutes(2));
        try
        {
            await foreach (var response in call.ResponseStream.ReadAllAsync())
            {
                tokens += response.TokenIds.Count;
            }

            return new Outcome(StatusCode.OK, "", tokens, 0);
        }
        catch (RpcException e)
        {
            var retry = e.Trailers.GetValue("retry-after-ms");
            return new Outcome(e.StatusCode, e.Status.Detail, tokens, retry is null ? 0 : int.Parse(retry, CultureInfo.InvariantCulture));
        }
    }

    /// <summary>The sum of a metric's samples in a Prometheus text scrape (`name{labels} value [timestamp]`).</summary>
    private static double Gauge(string scrape, string name)
    {
        var samples = scrape.Split('\n')
            .Where(l => l.StartsWith(name + "{", StringComparison.Ordinal) || l.StartsWith(name + " ", StringComparison.Ordinal))
            .Select(l => double.Parse(l[(l[name.Length] == '{' ? l.IndexOf('}') + 1 : name.Length)..].Trim().Split(' ')[0], CultureInfo.InvariantCulture))
            .ToList();
        Assert.True(samples.Count > 0, $"no {name} on /metrics");
        return samples.Sum();
    }

    private sealed record Outcome(StatusCode Status, string Detail, int Tokens, int RetryAfterMs);
}
