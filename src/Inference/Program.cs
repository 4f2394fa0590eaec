using Mesh.Inference.Cli;
using Mesh.Inference.Hosting;
using Mesh.Inference.Services;
using Mesh.ServiceDefaults;
using Mesh.ServiceDefaults.Hosting;

namespace Mesh.Inference;

/// <summary>Entry point: the command line (generate, score) and the gRPC service (serve, the default).</summary>
public static class Program
{
    /// <summary>
    /// Runs the command line (<c>serve</c>, <c>generate</c>, <c>score</c>). Exit code 0 on success; 1, with
    /// <c>error: …</c> on stderr, for a bad model file, flag or setting.
    /// </summary>
    public static async Task<int> Main(string[] args)
    {
        try
        {
            return await InferenceCommandLine.Build().Parse(args).InvokeAsync(new System.CommandLine.InvocationConfiguration { EnableDefaultExceptionHandler = false });
        }
        catch (Exception e) when (e is Models.ModelFormatException or FileNotFoundException or ArgumentException or InvalidOperationException
            or Microsoft.Extensions.Options.OptionsValidationException)
        {
            // A bad file, flag or setting is the user's to fix: say what, without a stack trace.
            await Console.Error.WriteLineAsync($"error: {MeshHost.Describe(e)}");
            return 1;
        }
    }
}

/// <summary>Builds the Inference web application; tests start the same application on loopback.</summary>
public static class InferenceHost
{
    /// <summary>
    /// The host with the Mesh defaults (<see cref="MeshHost"/>: gRPC on port 50051, metrics and health on
    /// 9101 unless configured), validated <see cref="InferenceOptions"/>, and every configured model loaded
    /// before it returns; a bad setting or model throws here, at start.
    /// </summary>
    public static WebApplication CreateApp(string[] args)
    {
        var builder = WebApplication.CreateSlimBuilder(args).AddMeshHost("mesh-inference", grpcPort: 50051, httpPort: 9101);
        builder.Services.AddValidatedOptions<InferenceOptions, InferenceOptionsValidator>(builder.Configuration.GetSection(InferenceOptions.SectionName));
        builder.Services.AddSingleton<ModelRegistry>();
        builder.Services.AddSingleton<TuningJobs>();
        var app = builder.Build();
        app.MapMeshDefaults();
        app.MapGrpcService<InferenceGrpcService>();
        app.MapGrpcService<InferenceAdminGrpcService>();
        // Load the models before the first request, not lazily on it.
        app.Services.GetRequiredService<ModelRegistry>();
        return app;
    }
}
