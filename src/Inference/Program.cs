using Mesh.Inference.Cli;
using Mesh.Inference.Hosting;
using Mesh.Inference.Services;
using Mesh.ServiceDefaults;

namespace Mesh.Inference;

/// <summary>Entry point: the command line (generate, score) and the gRPC service (serve, the default).</summary>
public static class Program
{
    public static async Task<int> Main(string[] args)
    {
        try
        {
            return await InferenceCommandLine.Build().Parse(args).InvokeAsync(new System.CommandLine.InvocationConfiguration { EnableDefaultExceptionHandler = false });
        }
        catch (Exception e) when (e is Models.ModelFormatException or FileNotFoundException or ArgumentException or InvalidOperationException)
        {
            // A bad file or flag is the user's to fix: say what, without a stack trace.
            await Console.Error.WriteLineAsync($"error: {e.Message}");
            return 1;
        }
    }
}

/// <summary>Builds the Inference web application; tests start the same application on loopback.</summary>
public static class InferenceHost
{
    public static WebApplication CreateApp(string[] args)
    {
        var builder = WebApplication.CreateSlimBuilder(args);
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Mesh:Endpoints:Grpc"] = "http://127.0.0.1:50051",
            ["Mesh:Endpoints:Http"] = "http://127.0.0.1:9101",
        }.Where(kv => builder.Configuration[kv.Key] is null));
        builder.AddMeshServiceDefaults("mesh-inference");
        builder.Services.Configure<InferenceOptions>(builder.Configuration.GetSection(InferenceOptions.SectionName));
        builder.Services.AddSingleton<ModelRegistry>();
        var app = builder.Build();
        app.MapMeshDefaults();
        app.MapGrpcService<InferenceGrpcService>();
        // Load the models before the first request, not lazily on it.
        app.Services.GetRequiredService<ModelRegistry>();
        return app;
    }
}
