using Grpc.Core;
using Grpc.Net.Client;
using Mesh.Guard.V1;
using Mesh.ServiceDefaults;
using Microsoft.AspNetCore.Builder;

namespace Mesh.Guard.Tests;

/// <summary>The real Guard host on loopback with a real gRPC channel to it.</summary>
public sealed class GuardServer : IAsyncDisposable
{
    private GuardServer(WebApplication app, GrpcChannel channel)
    {
        App = app;
        Channel = channel;
        Client = new GuardService.GuardServiceClient(channel);
    }

    public WebApplication App { get; }

    public GrpcChannel Channel { get; }

    public GuardService.GuardServiceClient Client { get; }

    /// <param name="policyFile">Absolute path of the policy file; null for the shipped default.</param>
    public static async Task<GuardServer> StartAsync(string? policyFile = null, params string[] extraArgs)
    {
        var args = new List<string>
        {
            "--Mesh:Endpoints:Grpc=http://127.0.0.1:0",
            "--Mesh:Endpoints:Http=http://127.0.0.1:0",
            "--Logging:LogLevel:Default=Warning",
        };
        if (policyFile is not null)
        {
            args.Add($"--Guard:PolicyFile={policyFile}");
        }
        args.AddRange(extraArgs);
        var app = GuardHost.CreateApp([.. args]);
        await app.StartAsync();
        return new GuardServer(app, GrpcChannel.ForAddress(app.GetGrpcAddress()));
    }

    /// <summary>A path under the test output's Data folder.</summary>
    public static string DataFile(string name) => Path.Combine(AppContext.BaseDirectory, "Data", name);

    public Task<CheckResponse> CheckAsync(string text, Stage stage, string policy = "", string schema = "", Metadata? headers = null) =>
        Client.CheckAsync(new CheckRequest { Text = text, Stage = stage, Policy = policy, JsonSchema = schema }, headers).ResponseAsync;

    public async ValueTask DisposeAsync()
    {
        Channel.Dispose();
        await App.StopAsync();
        await App.DisposeAsync();
    }
}

/// <summary>One host with the shipped default policy file, shared by the tests of a collection.</summary>
public sealed class DefaultPolicyServer : IAsyncLifetime
{
    public GuardServer Server { get; private set; } = null!;

    public async Task InitializeAsync() => Server = await GuardServer.StartAsync();

    public async Task DisposeAsync() => await Server.DisposeAsync();
}

/// <summary>One host with the tests' policy file (one policy per detector), for the evaluation sets.</summary>
public sealed class TestPolicyServer : IAsyncLifetime
{
    public GuardServer Server { get; private set; } = null!;

    public async Task InitializeAsync() => Server = await GuardServer.StartAsync(GuardServer.DataFile("test-policies.yaml"));

    public async Task DisposeAsync() => await Server.DisposeAsync();
}

[CollectionDefinition(Name)]
public sealed class GuardCollection : ICollectionFixture<DefaultPolicyServer>, ICollectionFixture<TestPolicyServer>
{
    public const string Name = "guard";
}
