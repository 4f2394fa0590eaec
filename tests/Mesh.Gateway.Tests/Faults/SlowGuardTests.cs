using System.Diagnostics;
using Grpc.Core;
using Mesh.Assistant.V1;
using Mesh.Gateway.Routing;
using Mesh.Gateway.Tests.Infrastructure;
using Mesh.Guard;
using Mesh.Guard.V1;
using Mesh.Inference;
using Mesh.Inference.V1;
using ChatMessage = Mesh.Assistant.V1.ChatMessage;
using Role = Mesh.Assistant.V1.Role;

namespace Mesh.Gateway.Tests.Faults;

/// <summary>
/// A Guard replica that answers slower than the deadline: alive (its health check says SERVING) but every
/// call waits before Guard's code sees it, so Guard cannot end the call at the deadline itself (a starved
/// or stuck replica). The gateway's guard route allows 2 s here. Calls through the gateway, direct or as
/// the assistant's guard stage, end DEADLINE_EXCEEDED with a message naming the service and the deadline,
/// within seconds of it (not after the replica's delay or YARP's 100 s activity timeout), and the gateway
/// keeps serving everything else.
/// </summary>
public sealed class SlowGuardTests : IAsyncLifetime
{
    private static readonly TimeSpan RouteDeadline = TimeSpan.FromSeconds(2);

    // What a loaded two-core machine may add on top of the deadline and the gateway's grace.
    private static readonly TimeSpan Slack = TimeSpan.FromSeconds(7);
    private readonly TestKey _key = new("slow-guard", "acme", ["*"], ["*"]);
    private ServiceReplica _inference = null!;
    private ServiceReplica _guard = null!;
    private GatewayUnderTest _gateway = null!;

    public async Task InitializeAsync()
    {
        _inference = await ServiceReplica.StartAsync(InferenceHost.CreateApp, 0, MeshFixture.InferenceArgs);
        _guard = await ServiceReplica.StartAsync(GuardHost.CreateApp);
        _gateway = await GatewayUnderTest.StartAsync(
            new Dictionary<string, IReadOnlyList<Uri>> { ["inference"] = [_inference.Address], ["guard"] = [_guard.Address] },
            [_key],
            $"--ReverseProxy:Routes:guard:Metadata:{DeadlineTransformProvider.MetadataKey}={RouteDeadline:c}");
        // Longer than the test waits, shorter than YARP's activity timeout: only the deadline can end these calls in time.
        _guard.CallDelay = TimeSpan.FromMinutes(1);
    }

    public async Task DisposeAsync()
    {
        await _gateway.DisposeAsync();
        await _inference.DisposeAsync();
        await _guard.DisposeAsync();
    }

    [Fact]
    public async Task A_Check_without_a_deadline_ends_DEADLINE_EXCEEDED_at_the_routes_deadline_and_the_gateway_stays_healthy()
    {
        var guard = new GuardService.GuardServiceClient(_gateway.Channel);
        var check = new CheckRequest { Stage = Stage.Input, Text = "Where is my order?" };

        var (failure, took) = await Timed(() => guard.CheckAsync(check, _key.Metadata).ResponseAsync);
        Assert.Equal(StatusCode.DeadlineExceeded, failure.StatusCode);
        Assert.Contains("guard service did not answer within the call's deadline of 2 s", failure.Status.Detail, StringComparison.Ordinal);
        Assert.InRange(took, RouteDeadline - TimeSpan.FromMilliseconds(100), RouteDeadline + UpstreamFailureMiddleware.DeadlineGrace + Slack);

        // A caller's shorter deadline fires at its own time.
        var (own, ownTook) = await Timed(() => guard.CheckAsync(check, _key.Metadata, DateTime.UtcNow.AddMilliseconds(500)).ResponseAsync);
        Assert.Equal(StatusCode.DeadlineExceeded, own.StatusCode);
        Assert.True(ownTook < RouteDeadline, $"a 500 ms deadline took {ownTook}");

        // Meanwhile the gateway serves the other services and says it is healthy.
        var inference = new InferenceService.InferenceServiceClient(_gateway.Channel);
        Assert.Contains((await inference.ListModelsAsync(new(), _key.Metadata)).Models, m => m.Id == "stories260K");
        using var http = new HttpClient();
        Assert.True((await http.GetAsync(new Uri(_gateway.HttpAddress, "/healthz"))).IsSuccessStatusCode);

        // Once Guard is fast again, the same call succeeds: nothing stuck in the gateway.
        _guard.CallDelay = TimeSpan.Zero;
        Assert.NotEqual(Mesh.Guard.V1.Action.Unspecified, (await guard.CheckAsync(check, _key.Metadata)).Verdict);
    }

    [Fact]
    public async Task An_Ask_whose_guard_stage_is_too_slow_ends_DEADLINE_EXCEEDED_naming_guard()
    {
        var assistant = new AssistantService.AssistantServiceClient(_gateway.Channel);
        var ask = new AskRequest { Model = "stories260K", Messages = { new ChatMessage { Role = Role.User, Content = "What is the return policy?" } } };

        var (failure, took) = await Timed(async () =>
        {
            using var call = assistant.Ask(ask, _key.Metadata);
            await foreach (var _ in call.ResponseStream.ReadAllAsync())
            {
            }
        });
        Assert.Equal(StatusCode.DeadlineExceeded, failure.StatusCode);
        Assert.Contains("guard service did not answer within the call's deadline", failure.Status.Detail, StringComparison.Ordinal);
        Assert.InRange(took, RouteDeadline - TimeSpan.FromMilliseconds(100), RouteDeadline + UpstreamFailureMiddleware.DeadlineGrace + Slack);

        // With the caller's own deadline the whole Ask ends at it.
        var (own, ownTook) = await Timed(async () =>
        {
            using var call = assistant.Ask(ask, _key.Metadata, DateTime.UtcNow.AddSeconds(1));
            await foreach (var _ in call.ResponseStream.ReadAllAsync())
            {
            }
        });
        Assert.Equal(StatusCode.DeadlineExceeded, own.StatusCode);
        Assert.True(ownTook < TimeSpan.FromSeconds(1) + Slack, $"a 1 s deadline took {ownTook}");
    }

    private static async Task<(RpcException Failure, TimeSpan Took)> Timed(Func<Task> call)
    {
        var clock = Stopwatch.StartNew();
        var failure = await Calls.FailureOf(call);
        return (failure, clock.Elapsed);
    }
}
