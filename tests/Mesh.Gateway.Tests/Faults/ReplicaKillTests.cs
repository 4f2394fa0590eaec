using System.Collections.Concurrent;
using System.Diagnostics;
using Grpc.Core;
using Mesh.Gateway.Tests.Infrastructure;
using Mesh.Inference.V1;
using Xunit.Abstractions;

namespace Mesh.Gateway.Tests.Faults;

/// <summary>
/// An Inference replica dies under a load of streamed Generate calls through the gateway. Two real
/// Mesh.Inference processes (not in-process hosts: a stop would drain their calls gracefully) sit behind
/// the gateway's inference cluster. Replica A is first frozen (SIGSTOP), so the calls the gateway has
/// open to it can be counted from YARP's own per-destination count without racing their completion, and
/// then SIGKILLed. The calls it held must fail with UNAVAILABLE within seconds (not hang until a
/// timeout), and once the health check has taken A out, no call fails.
/// </summary>
public sealed class ReplicaKillTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const int Workers = 6;
    private static readonly TimeSpan PromptFailure = TimeSpan.FromSeconds(10);
    private readonly TestKey _key = new("load", "acme", ["*"], ["*"]);
    private InferenceProcess _a = null!;
    private InferenceProcess _b = null!;
    private GatewayUnderTest _gateway = null!;

    public async Task InitializeAsync()
    {
        var replicas = await Task.WhenAll(InferenceProcess.StartAsync(), InferenceProcess.StartAsync());
        (_a, _b) = (replicas[0], replicas[1]);
        _gateway = await GatewayUnderTest.StartAsync(
            new Dictionary<string, IReadOnlyList<Uri>> { ["inference"] = [_a.Address, _b.Address] },
            [_key],
            // Round robin sends every other call to A, so calls are certainly open to it when it freezes.
            "--ReverseProxy:Clusters:inference:LoadBalancingPolicy=RoundRobin");
    }

    public async Task DisposeAsync()
    {
        await _gateway.DisposeAsync();
        _a.Dispose();
        _b.Dispose();
    }

    [Fact]
    public async Task Calls_open_on_a_killed_replica_fail_with_UNAVAILABLE_promptly_and_none_fail_once_it_is_taken_out()
    {
        var client = new InferenceService.InferenceServiceClient(_gateway.Channel);
        var clock = Stopwatch.StartNew();
        var calls = new ConcurrentQueue<CallRecord>();
        using var stop = new CancellationTokenSource();
        var workers = Enumerable.Range(0, Workers).Select(_ => Task.Run(() => LoadAsync(client, clock, calls, stop.Token))).ToArray();
        try
        {
            await Until(() => calls.Count(c => c.Status == StatusCode.OK) >= 20, "20 calls succeeded under load");
            Assert.All(calls, c => Assert.Equal(StatusCode.OK, c.Status));

            _a.Freeze();
            await Until(() => _gateway.OpenCalls("inference", _a.Address) >= 1, "a call is open to the frozen replica");
            // A answers nothing now, so none of these calls can complete before the kill.
            var openOnA = _gateway.OpenCalls("inference", _a.Address);
            var killedAt = clock.Elapsed;
            _a.Kill();

            await _gateway.WaitForAvailableDestinationsAsync("inference", 1, TimeSpan.FromSeconds(30));
            var removedAt = clock.Elapsed;
            await Until(() => _gateway.OpenCalls("inference", _a.Address) == 0, "every call to the killed replica ended");
            await Until(() => calls.Count(c => c.Start > removedAt) >= 30, "30 calls started after the replica was taken out");
            await stop.CancelAsync();
            await Task.WhenAll(workers);

            var failed = calls.Where(c => c.Status != StatusCode.OK).ToList();
            output.WriteLine($"{calls.Count} calls; {openOnA} open on A at the kill; {failed.Count} failed, the slowest " +
                $"{(failed.Count > 0 ? failed.Max(c => c.End - killedAt).TotalMilliseconds : 0):F0} ms after the kill; A taken out " +
                $"{(removedAt - killedAt).TotalMilliseconds:F0} ms after the kill; failures: {string.Join(" | ", failed.Select(c => $"{c.Status} {c.Detail}").Distinct())}");
            Assert.True(failed.Count >= openOnA, $"{openOnA} calls were open on the killed replica, only {failed.Count} failed");
            Assert.All(failed, c =>
            {
                Assert.True(c.Status == StatusCode.Unavailable, $"a call to the killed replica ended {c.Status}: {c.Detail}");
                Assert.True(c.Start < removedAt, $"a call started {c.Start - removedAt} after the replica was taken out failed: {c.Detail}");
                var waited = c.End - (c.Start > killedAt ? c.Start : killedAt);
                Assert.True(waited < PromptFailure, $"a call to the killed replica took {waited} to fail: {c.Detail}");
            });
            Assert.All(calls.Where(c => c.Start > removedAt), c => Assert.Equal(StatusCode.OK, c.Status));
        }
        finally
        {
            await stop.CancelAsync();
            await Task.WhenAll(workers);
        }
    }

    /// <summary>Streamed Generate calls back to back until stopped, each recorded with its outcome.</summary>
    private async Task LoadAsync(InferenceService.InferenceServiceClient client, Stopwatch clock, ConcurrentQueue<CallRecord> calls, CancellationToken stop)
    {
        var request = new GenerateRequest
        {
            Model = "stories260K", Prompt = "Once upon a time", MaxTokens = 32, IgnoreEos = true,
            Sampling = new SamplingParams { Temperature = 0 },
        };
        while (!stop.IsCancellationRequested)
        {
            var start = clock.Elapsed;
            var (status, detail) = (StatusCode.OK, "");
            try
            {
                // The deadline only bounds the test: a call that hangs ends DEADLINE_EXCEEDED, which the test refuses.
                using var call = client.Generate(request, _key.Metadata, DateTime.UtcNow.AddMinutes(1));
                await foreach (var _ in call.ResponseStream.ReadAllAsync())
                {
                }
            }
            catch (RpcException e)
            {
                (status, detail) = (e.StatusCode, e.Status.Detail);
            }

            calls.Enqueue(new CallRecord(start, clock.Elapsed, status, detail));
        }
    }

    private static async Task Until(Func<bool> condition, string what)
    {
        var patience = Stopwatch.StartNew();
        while (!condition())
        {
            if (patience.Elapsed > TimeSpan.FromSeconds(60))
            {
                throw new TimeoutException($"not within 60 s: {what}");
            }

            await Task.Delay(20);
        }
    }

    private sealed record CallRecord(TimeSpan Start, TimeSpan End, StatusCode Status, string Detail);
}
