using Mesh.ServiceDefaults;

namespace Mesh.Gateway;

/// <summary>Entry point of the Gateway service host.</summary>
public static class Program
{
    public static async Task<int> Main(string[] args)
    {
        await using var app = GatewayHost.CreateApp(args);
        await app.RunAsync();
        return 0;
    }
}

/// <summary>Builds the Gateway web application; tests start the same application on loopback.</summary>
public static class GatewayHost
{
    public static WebApplication CreateApp(string[] args)
    {
        var builder = WebApplication.CreateSlimBuilder(args);
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Mesh:Endpoints:Grpc"] = "http://127.0.0.1:8080",
            ["Mesh:Endpoints:Http"] = "http://127.0.0.1:8081",
        }.Where(kv => builder.Configuration[kv.Key] is null));
        builder.AddMeshServiceDefaults("mesh-gateway");
        var app = builder.Build();
        app.MapMeshDefaults();
        return app;
    }
}
