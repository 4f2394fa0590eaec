using Mesh.Guard.Checking;
using Mesh.Guard.Embeddings;
using Mesh.Guard.Policies;
using Mesh.Guard.Schema;
using Mesh.Guard.Services;
using Mesh.Guard.Telemetry;
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
        AddGuard(builder.Services, builder.Configuration);

        var app = builder.Build();
        // Load the policies now: a service with a broken policy file must not start.
        app.Services.GetRequiredService<PolicyStore>();
        app.MapGrpcService<GuardGrpcService>();
        app.MapMeshDefaults();
        return app;
    }

    /// <summary>Guard's services; also used by the evaluation tests and the benchmark to build the same pipeline.</summary>
    public static IServiceCollection AddGuard(IServiceCollection services, IConfiguration configuration)
    {
        services.Configure<GuardOptions>(configuration.GetSection(GuardOptions.SectionName));
        services.AddMetrics();
        services.AddSingleton<ITextEmbedder, MiniLmEmbedder>();
        services.AddSingleton<PolicyParser>();
        services.AddSingleton<PolicyStore>();
        services.AddSingleton<JsonSchemaValidator>();
        services.AddSingleton<GuardTelemetry>();
        services.AddSingleton<PolicyEvaluator>();
        return services;
    }
}
