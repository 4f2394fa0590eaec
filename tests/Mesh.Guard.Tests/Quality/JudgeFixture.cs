using Mesh.Inference;
using Mesh.ServiceDefaults;
using Microsoft.AspNetCore.Builder;

namespace Mesh.Guard.Tests.Quality;

/// <summary>
/// A real Inference host serving stories260K (../shared/models) as the judge, and a real Guard host
/// whose Guard:Judge points at it, with the judge-policies file: both on loopback.
/// </summary>
public sealed class JudgeFixture : IAsyncLifetime
{
    /// <summary>Judge settings that fit stories260K's 512-token context: a short reason, few tokens.</summary>
    public static readonly string[] JudgeLimits = ["--Guard:Judge:Model=stories260K", "--Guard:Judge:MaxTokens=64", "--Guard:Judge:MaxReasonChars=40"];

    private WebApplication? _inference;

    public GuardServer Guard { get; private set; } = null!;

    public Uri InferenceAddress { get; private set; } = null!;

    public static string PolicyFile => GuardServer.DataFile("judge-policies.yaml");

    public async Task InitializeAsync()
    {
        _inference = await StartInferenceAsync();
        InferenceAddress = _inference.GetGrpcAddress();
        Guard = await GuardServer.StartAsync(PolicyFile, [$"--Guard:Judge:Endpoint={InferenceAddress}", .. JudgeLimits]);
    }

    public async Task DisposeAsync()
    {
        await Guard.DisposeAsync();
        if (_inference is not null)
        {
            await _inference.StopAsync();
            await _inference.DisposeAsync();
        }
    }

    /// <summary>
    /// Starts an Inference host on loopback serving stories260K, with <paramref name="extraArgs"/>;
    /// <paramref name="configure"/> may add middleware before it starts.
    /// </summary>
    public static async Task<WebApplication> StartInferenceAsync(Action<WebApplication>? configure = null, params string[] extraArgs)
    {
        var app = InferenceHost.CreateApp(
        [
            "--Mesh:Endpoints:Grpc=http://127.0.0.1:0",
            "--Mesh:Endpoints:Http=http://127.0.0.1:0",
            "--Inference:Device=cpu",
            "--Inference:Models:0:Id=stories260K",
            $"--Inference:Models:0:Path={Stories260K}",
            "--Logging:LogLevel:Default=Warning",
            .. extraArgs,
        ]);
        configure?.Invoke(app);
        await app.StartAsync();
        return app;
    }

    /// <summary>../shared/models/stories260K/stories260K.gguf beside the repository this test was built from.</summary>
    private static string Stories260K
    {
        get
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "Mesh.sln")))
                {
                    var path = Path.GetFullPath(Path.Combine(dir.FullName, "..", "shared", "models", "stories260K", "stories260K.gguf"));
                    return File.Exists(path) ? path : throw new FileNotFoundException($"Test model missing: {path} (see ../shared/models/README.md)", path);
                }
            }

            throw new InvalidOperationException($"No Mesh.sln above {AppContext.BaseDirectory}.");
        }
    }
}
