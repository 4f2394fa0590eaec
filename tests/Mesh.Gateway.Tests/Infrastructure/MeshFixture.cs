using Grpc.Net.Client;
using Mesh.Guard;
using Mesh.Inference;
using Mesh.Retrieval;

namespace Mesh.Gateway.Tests.Infrastructure;

/// <summary>
/// One replica of each real service and a gateway in front of them, shared by the tests of a class.
/// Each test that consumes a limit uses its own key, so tests do not drain each other's budgets.
/// </summary>
public sealed class MeshFixture : IAsyncLifetime
{
    public static readonly string[] InferenceArgs =
    [
        "--Inference:Models:0:Id=stories260K",
        $"--Inference:Models:0:Path={RepoPaths.Stories260K}",
    ];

    /// <summary>Retrieval keeps its collections in a fresh temporary folder per host.</summary>
    public static string[] RetrievalArgs() =>
        [$"--Retrieval:DataPath={Directory.CreateTempSubdirectory("mesh-gateway-tests-").FullName}"];

    /// <summary>May use everything.</summary>
    public TestKey Admin { get; } = new("admin", "acme", ["*"], ["*"]);

    /// <summary>May use only the model stories260K and the collection docs.</summary>
    public TestKey Narrow { get; } = new("narrow", "globex", ["stories260K"], ["docs"]);

    /// <summary>Two calls per second.</summary>
    public TestKey Slow { get; } = new("slow", "initech", ["*"], ["*"], RequestsPerSecond: 2);

    /// <summary>One call open at a time.</summary>
    public TestKey SingleStream { get; } = new("single-stream", "umbrella", ["*"], ["*"], MaxConcurrentStreams: 1);

    /// <summary>Ten generated tokens per minute.</summary>
    public TestKey FewTokens { get; } = new("few-tokens", "hooli", ["*"], ["*"], TokensPerMinute: 10);

    /// <summary>Ten generated tokens per minute, for the streaming test.</summary>
    public TestKey FewStreamedTokens { get; } = new("few-streamed-tokens", "hooli", ["*"], ["*"], TokensPerMinute: 10);

    /// <summary>Ten generated tokens per minute, spent only by the tests that check what is not metered.</summary>
    public TestKey Unmetered { get; } = new("unmetered", "hooli", ["*"], ["*"], TokensPerMinute: 10);

    /// <summary>Five calls per second, for the load tool's test.</summary>
    public TestKey FivePerSecond { get; } = new("five-per-second", "initech", ["*"], ["*"], RequestsPerSecond: 5);

    public ServiceReplica Inference { get; private set; } = null!;
    public ServiceReplica Retrieval { get; private set; } = null!;
    public ServiceReplica Guard { get; private set; } = null!;
    public GatewayUnderTest Gateway { get; private set; } = null!;

    public GrpcChannel Channel => Gateway.Channel;

    public async Task InitializeAsync()
    {
        Inference = await ServiceReplica.StartAsync(InferenceHost.CreateApp, 0, InferenceArgs);
        Retrieval = await ServiceReplica.StartAsync(RetrievalHost.CreateApp, 0, RetrievalArgs());
        Guard = await ServiceReplica.StartAsync(GuardHost.CreateApp);
        Gateway = await GatewayUnderTest.StartAsync(
            new Dictionary<string, IReadOnlyList<Uri>>
            {
                ["inference"] = [Inference.Address],
                ["retrieval"] = [Retrieval.Address],
                ["guard"] = [Guard.Address],
            },
            [Admin, Narrow, Slow, SingleStream, FewTokens, FewStreamedTokens, Unmetered, FivePerSecond]);
    }

    public async Task DisposeAsync()
    {
        await Gateway.DisposeAsync();
        await Inference.DisposeAsync();
        await Retrieval.DisposeAsync();
        await Guard.DisposeAsync();
    }
}
