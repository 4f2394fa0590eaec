using Mesh.ServiceDefaults;

namespace Mesh.Inference;

/// <summary>Entry point of the Inference service host.</summary>
public static class Program
{
    public static async Task<int> Main(string[] args)
    {
        await using var app = InferenceHost.CreateApp(args);
        await app.RunAsync();
        return 0;
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
        var app = builder.Build();
        app.MapMeshDefaults();
        return app;
    }
}
