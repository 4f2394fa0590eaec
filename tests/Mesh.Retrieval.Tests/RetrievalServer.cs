using Grpc.Core;
using Grpc.Net.Client;
using Mesh.Retrieval.V1;
using Mesh.ServiceDefaults;
using Microsoft.AspNetCore.Builder;

namespace Mesh.Retrieval.Tests;

/// <summary>The real Retrieval host, started in-process on loopback with its own data folder.</summary>
internal sealed class RetrievalServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly GrpcChannel _channel;
    private readonly bool _ownsData;

    private RetrievalServer(WebApplication app, string dataPath, bool ownsData)
    {
        _app = app;
        DataPath = dataPath;
        _ownsData = ownsData;
        _channel = GrpcChannel.ForAddress(app.GetGrpcAddress());
        Client = new RetrievalService.RetrievalServiceClient(_channel);
    }

    public string DataPath { get; }

    public RetrievalService.RetrievalServiceClient Client { get; }

    /// <summary>The host's services (test seams such as the snapshot hooks).</summary>
    public IServiceProvider Services => _app.Services;

    /// <summary>The plain-HTTP endpoint (<c>/metrics</c>, <c>/healthz</c>).</summary>
    public Uri HttpAddress => _app.GetBoundAddresses()[1];

    public static async Task<RetrievalServer> StartAsync(string? dataPath = null, params string[] settings)
    {
        var ownsData = dataPath is null;
        dataPath ??= Path.Combine(Path.GetTempPath(), "mesh-retrieval-tests", Guid.NewGuid().ToString("N"));
        var app = RetrievalHost.CreateApp([
            "--Mesh:Endpoints:Grpc=http://127.0.0.1:0",
            "--Mesh:Endpoints:Http=http://127.0.0.1:0",
            $"--Retrieval:DataPath={dataPath}",
            "--Logging:LogLevel:Default=Warning",
            .. settings]);
        await app.StartAsync();
        return new RetrievalServer(app, dataPath, ownsData);
    }

    public static Metadata Tenant(string tenant) => new() { { "x-mesh-tenant", tenant } };

    public async ValueTask DisposeAsync()
    {
        _channel.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
        if (_ownsData && Directory.Exists(DataPath))
        {
            Directory.Delete(DataPath, recursive: true);
        }
    }
}
