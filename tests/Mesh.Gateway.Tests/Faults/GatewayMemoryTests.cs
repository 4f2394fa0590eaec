using Grpc.Core;
using Mesh.Gateway.Tests.Infrastructure;
using Mesh.Guard;
using Mesh.Guard.V1;
using Mesh.Inference;
using Mesh.Inference.V1;
using Mesh.ServiceDefaults;
using Microsoft.AspNetCore.Builder;
using Xunit.Abstractions;

namespace Mesh.Gateway.Tests.Faults;

/// <summary>
/// The soak's question without ten minutes: does a call through the gateway leave anything behind? After
/// a warm-up, 1,500 more mixed calls (streamed Generate, Guard Check, ListModels) through the real
/// gateway to real Inference and Guard hosts must not grow the managed heap measured after full
/// collections by more than 2 MiB (about 1.4 KB a call): a per-call object kept in a dictionary, a
/// cache without a bound or a metric series per request would (ServiceReplica's recording of every
/// call, about 1.7 KB each, fails it, which is why the hosts here are started bare). It runs alone (no
/// other test allocating in the process while it measures).
/// </summary>
[Collection(Name)]
public sealed class GatewayMemoryTests(ITestOutputHelper output) : IAsyncLifetime
{
    public const string Name = "memory (runs alone)";
    private const int Calls = 1500;
    private const long Bound = 2L << 20;
    private readonly TestKey _key = new("memory", "acme", ["*"], ["*"]);
    private WebApplication _inference = null!;
    private WebApplication _guard = null!;
    private GatewayUnderTest _gateway = null!;

    public async Task InitializeAsync()
    {
        // The hosts as they are, without ServiceReplica's recording of every call (which grows by design).
        _inference = await StartAsync(InferenceHost.CreateApp, MeshFixture.InferenceArgs);
        _guard = await StartAsync(GuardHost.CreateApp);
        _gateway = await GatewayUnderTest.StartAsync(
            new Dictionary<string, IReadOnlyList<Uri>> { ["inference"] = [_inference.GetGrpcAddress()], ["guard"] = [_guard.GetGrpcAddress()] }, [_key]);
    }

    public async Task DisposeAsync()
    {
        await _gateway.DisposeAsync();
        await _inference.DisposeAsync();
        await _guard.DisposeAsync();
    }

    [Fact]
    public async Task Calls_through_the_gateway_leave_no_managed_memory_behind()
    {
        await RunAsync(300);
        var before = LiveBytes();
        await RunAsync(Calls);
        var after = LiveBytes();

        output.WriteLine($"managed heap after full GC: {before / 1024.0 / 1024:F2} MiB before, {after / 1024.0 / 1024:F2} MiB after {Calls} calls ({(after - before) / (double)Calls:F0} B a call)");
        Assert.True(after - before < Bound, $"{Calls} calls left {(after - before) / 1024} KiB of live managed memory (bound {Bound / 1024} KiB)");
    }

    private async Task RunAsync(int calls)
    {
        var inference = new InferenceService.InferenceServiceClient(_gateway.Channel);
        var guard = new GuardService.GuardServiceClient(_gateway.Channel);
        var generate = new GenerateRequest { Model = "stories260K", Prompt = "Once upon a time", MaxTokens = 4, Sampling = new SamplingParams { Temperature = 0 } };
        // Two callers at a time, as a soak's fixed rate overlaps calls; each text differs so no cache answers it.
        await Task.WhenAll(Enumerable.Range(0, 2).Select(worker => Task.Run(async () =>
        {
            for (var i = worker; i < calls; i += 2)
            {
                switch (i % 3)
                {
                    case 0:
                        using (var call = inference.Generate(generate, _key.Metadata))
                        {
                            await foreach (var _ in call.ResponseStream.ReadAllAsync())
                            {
                            }
                        }

                        break;
                    case 1:
                        await guard.CheckAsync(new CheckRequest { Stage = Stage.Output, Text = $"Your order {i} ships tomorrow." }, _key.Metadata);
                        break;
                    default:
                        await inference.ListModelsAsync(new ListModelsRequest(), _key.Metadata);
                        break;
                }
            }
        })));
    }

    private static async Task<WebApplication> StartAsync(Func<string[], WebApplication> createApp, params string[] extraArgs)
    {
        var app = createApp(["--Mesh:Endpoints:Grpc=http://127.0.0.1:0", "--Mesh:Endpoints:Http=http://127.0.0.1:0", "--Logging:LogLevel:Default=Warning", .. extraArgs]);
        await app.StartAsync();
        return app;
    }

    private static long LiveBytes()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        return GC.GetTotalMemory(forceFullCollection: true);
    }
}

/// <summary>Tests that measure the process's memory, so nothing else may run beside them.</summary>
[CollectionDefinition(GatewayMemoryTests.Name, DisableParallelization = true)]
public sealed class MemoryCollection
{
}
