using Grpc.Net.Client;
using Mesh.ServiceDefaults;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Yarp.ReverseProxy;

namespace Mesh.Gateway.Tests.Infrastructure;

/// <summary>The real gateway host on a loopback port, routing to the given replicas.</summary>
public sealed class GatewayUnderTest : IAsyncDisposable
{
    public const string SigningKey = "test-signing-secret";

    private readonly WebApplication _app;

    private GatewayUnderTest(WebApplication app, Uri address, Uri httpAddress)
    {
        _app = app;
        Address = address;
        HttpAddress = httpAddress;
        Channel = GrpcChannel.ForAddress(address);
    }

    public Uri Address { get; }

    /// <summary>The HTTP/1.1 endpoint with /metrics and /healthz.</summary>
    public Uri HttpAddress { get; }

    public GrpcChannel Channel { get; }

    public IServiceProvider Services => _app.Services;

    /// <param name="clusters">Destinations per cluster id (inference, retrieval, guard).</param>
    public static async Task<GatewayUnderTest> StartAsync(
        IReadOnlyDictionary<string, IReadOnlyList<Uri>> clusters, IEnumerable<TestKey> keys, params string[] extraArgs)
    {
        var args = new List<string>
        {
            "--Mesh:Endpoints:Grpc=http://127.0.0.1:0",
            "--Mesh:Endpoints:Http=http://127.0.0.1:0",
            "--Logging:LogLevel:Default=Warning",
            $"--Gateway:TenantSigningKey={SigningKey}",
        };
        foreach (var (cluster, destinations) in clusters)
        {
            // Probe often and act on the first failure, so failover tests take a second, not ten.
            args.Add($"--ReverseProxy:Clusters:{cluster}:HealthCheck:Active:Interval=00:00:00.200");
            args.Add($"--ReverseProxy:Clusters:{cluster}:Metadata:GrpcHealth.Threshold=1");
            for (var i = 0; i < destinations.Count; i++)
            {
                args.Add($"--ReverseProxy:Clusters:{cluster}:Destinations:r{i + 1}:Address={destinations[i]}");
            }
        }

        args.AddRange(keys.SelectMany(k => k.ConfigurationArgs()));
        args.AddRange(extraArgs);
        var app = GatewayHost.CreateApp([.. args]);
        await app.StartAsync();
        return new GatewayUnderTest(app, app.GetGrpcAddress(), app.GetBoundAddresses()[1]);
    }

    /// <summary>How many destinations of a cluster the gateway currently balances over (healthy or not yet probed).</summary>
    public int AvailableDestinations(string cluster) =>
        Services.GetRequiredService<IProxyStateLookup>().TryGetCluster(cluster, out var state)
            ? state.DestinationsState.AvailableDestinations.Count
            : throw new InvalidOperationException($"No cluster {cluster}.");

    /// <summary>
    /// How many calls the gateway has open to one destination of a cluster (YARP's own count, the one
    /// LeastRequests balances on), so a test knows for certain that calls are in flight to a replica.
    /// </summary>
    public int OpenCalls(string cluster, Uri destination) =>
        Services.GetRequiredService<IProxyStateLookup>().TryGetCluster(cluster, out var state)
            ? state.Destinations.Values.Single(d => new Uri(d.Model.Config.Address) == destination).ConcurrentRequestCount
            : throw new InvalidOperationException($"No cluster {cluster}.");

    public async Task WaitForAvailableDestinationsAsync(string cluster, int count, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        while (AvailableDestinations(cluster) != count)
        {
            await Task.Delay(50, cts.Token);
        }
    }

    public async ValueTask DisposeAsync()
    {
        Channel.Dispose();
        await _app.DisposeAsync();
    }
}
