using Mesh.ServiceDefaults;

namespace Mesh.Retrieval;

/// <summary>Entry point of the Retrieval service host.</summary>
public static class Program
{
    public static async Task<int> Main(string[] args)
    {
        await using var app = RetrievalHost.CreateApp(args);
        await app.RunAsync();
        return 0;
    }
}

/// <summary>Builds the Retrieval web application; tests start the same application on loopback.</summary>
public static class RetrievalHost
{
    public static WebApplication CreateApp(string[] args)
    {
        var builder = WebApplication.CreateSlimBuilder(args);
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Mesh:Endpoints:Grpc"] = "http://127.0.0.1:50052",
            ["Mesh:Endpoints:Http"] = "http://127.0.0.1:9102",
        }.Where(kv => builder.Configuration[kv.Key] is null));
        builder.AddMeshServiceDefaults("mesh-retrieval");
        var app = builder.Build();
        app.MapMeshDefaults();
        return app;
    }
}
