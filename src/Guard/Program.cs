using Mesh.ServiceDefaults;

namespace Mesh.Guard;

/// <summary>Entry point of the Guard service host.</summary>
public static class Program
{
    public static async Task<int> Main(string[] args)
    {
        await using var app = GuardHost.CreateApp(args);
        await app.RunAsync();
        return 0;
    }
}

/// <summary>Builds the Guard web application; tests start the same application on loopback.</summary>
public static class GuardHost
{
    public static WebApplication CreateApp(string[] args)
    {
        var builder = WebApplication.CreateSlimBuilder(args);
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Mesh:Endpoints:Grpc"] = "http://127.0.0.1:50053",
            ["Mesh:Endpoints:Http"] = "http://127.0.0.1:9103",
        }.Where(kv => builder.Configuration[kv.Key] is null));
        builder.AddMeshServiceDefaults("mesh-guard");
        var app = builder.Build();
        app.MapMeshDefaults();
        return app;
    }
}
