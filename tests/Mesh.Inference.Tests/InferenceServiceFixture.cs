using Grpc.Net.Client;
using Mesh.Inference.Tests.Tokenization;
using Mesh.Inference.V1;
using Mesh.ServiceDefaults;
using Microsoft.AspNetCore.Builder;

namespace Mesh.Inference.Tests;

/// <summary>The real Inference host on a loopback port, serving stories260K, with a real gRPC client.</summary>
public sealed class InferenceServiceFixture : IAsyncLifetime
{
    private WebApplication? _app;

    public GrpcChannel Channel { get; private set; } = null!;

    public InferenceService.InferenceServiceClient Client { get; private set; } = null!;

    /// <summary>The HTTP/1.1 endpoint serving /metrics.</summary>
    public Uri HttpAddress { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        _app = InferenceHost.CreateApp(
        [
            "--Mesh:Endpoints:Grpc=http://127.0.0.1:0",
            "--Mesh:Endpoints:Http=http://127.0.0.1:0",
            "--Inference:Device=cpu",
            "--Inference:Models:0:Id=stories260K",
            $"--Inference:Models:0:Path={TestModels.Stories260KGguf}",
            "--Logging:LogLevel:Default=Warning",
        ]);
        await _app.StartAsync();
        Channel = GrpcChannel.ForAddress(_app.GetGrpcAddress());
        HttpAddress = _app.GetBoundAddresses()[1];
        Client = new InferenceService.InferenceServiceClient(Channel);
    }

    public async Task DisposeAsync()
    {
        Channel.Dispose();
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
    }
}
