using System.Collections.Concurrent;
using Mesh.ServiceDefaults;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Mesh.Gateway.Tests.Infrastructure;

/// <summary>
/// One real service host (Inference, Retrieval or Guard, built by its own CreateApp) on a loopback
/// port, with a recording middleware in front of its endpoints so tests can see what the gateway
/// forwarded. A call carrying <see cref="HoldHeader"/> is held until <see cref="ReleaseHeld"/>: the
/// tests use it to keep a stream open; <see cref="CallDelay"/> slows every call down.
/// </summary>
public sealed class ServiceReplica : IAsyncDisposable
{
    public const string HoldHeader = "x-test-hold";

    private readonly WebApplication _app;
    private readonly ConcurrentQueue<RecordedCall> _calls = new();
    private TaskCompletionSource _release = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private ServiceReplica(WebApplication app)
    {
        _app = app;
        app.Use(async (context, next) =>
        {
            if (context.Request.Path.Value?.StartsWith("/mesh.", StringComparison.Ordinal) == true)
            {
                _calls.Enqueue(new RecordedCall(
                    context.Request.Path.Value!,
                    context.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase)));
                if (CallDelay > TimeSpan.Zero)
                {
                    await Task.Delay(CallDelay, context.RequestAborted);
                }

                if (context.Request.Headers.ContainsKey(HoldHeader))
                {
                    await _release.Task.WaitAsync(context.RequestAborted);
                }
            }

            await next(context);
        });
    }

    public Uri Address { get; private set; } = null!;

    /// <summary>The replica's HTTP endpoint (<c>/metrics</c>, <c>/healthz</c>).</summary>
    public Uri HttpAddress => _app.GetBoundAddresses()[1];

    public IReadOnlyCollection<RecordedCall> Calls => _calls;

    /// <summary>
    /// How long every service call (not the health check) waits before the service sees it: a replica
    /// that is alive but too slow (starved, stuck), and cannot end the call at its deadline itself.
    /// </summary>
    public TimeSpan CallDelay { get; set; }

    public static async Task<ServiceReplica> StartAsync(Func<string[], WebApplication> createApp, int port = 0, params string[] extraArgs)
    {
        string[] args =
        [
            $"--Mesh:Endpoints:Grpc=http://127.0.0.1:{port}",
            "--Mesh:Endpoints:Http=http://127.0.0.1:0",
            "--Logging:LogLevel:Default=Warning",
            .. extraArgs,
        ];
        var replica = new ServiceReplica(createApp(args));
        await replica._app.StartAsync();
        replica.Address = replica._app.GetGrpcAddress();
        return replica;
    }

    public void ReleaseHeld()
    {
        _release.TrySetResult();
        _release = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    public async Task StopAsync()
    {
        _release.TrySetResult();
        await _app.StopAsync();
    }

    public async ValueTask DisposeAsync()
    {
        _release.TrySetResult();
        await _app.DisposeAsync();
    }
}
