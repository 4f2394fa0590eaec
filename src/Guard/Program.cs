using Mesh.Guard.Checking;
using Microsoft.Extensions.Options;
using Mesh.Guard.Embeddings;
using Mesh.Guard.Policies;
using Mesh.Guard.Quality;
using Mesh.Guard.Quality.Drift;
using Mesh.Guard.Quality.Judge;
using Mesh.Guard.Schema;
using Mesh.Guard.Services;
using Mesh.Guard.Telemetry;
using Mesh.ServiceDefaults;
using Mesh.ServiceDefaults.Hosting;

namespace Mesh.Guard;

/// <summary>Entry point of the Guard service host.</summary>
public static class Program
{
    /// <summary>Runs the service until it is stopped; the exit code is non-zero when it could not start.</summary>
    public static async Task<int> Main(string[] args)
    {
        return await MeshHost.RunAsync(GuardHost.CreateApp, args);
    }
}

/// <summary>Builds the Guard web application; tests start the same application on loopback.</summary>
public static class GuardHost
{
    /// <summary>The configured Guard application (gRPC on 50053, HTTP health and metrics on 9103 by default) with its policies loaded.</summary>
    /// <exception cref="PolicyFileException">The policy file cannot be used.</exception>
    public static WebApplication CreateApp(string[] args)
    {
        var builder = WebApplication.CreateSlimBuilder(args).AddMeshHost("mesh-guard", grpcPort: 50053, httpPort: 9103);
        AddGuard(builder.Services, builder.Configuration);

        var app = builder.Build();
        // Load the policies now: a service with a broken policy file must not start.
        app.Services.GetRequiredService<PolicyStore>();
        app.MapGrpcService<GuardGrpcService>();
        app.MapGrpcService<QualityGrpcService>();
        app.MapMeshDefaults();
        return app;
    }

    /// <summary>Guard's services; also used by the evaluation tests and the benchmark to build the same pipeline.</summary>
    public static IServiceCollection AddGuard(IServiceCollection services, IConfiguration configuration)
    {
        services.AddValidatedOptions<GuardOptions, GuardOptionsValidator>(configuration.GetSection(GuardOptions.SectionName));
        services.AddMetrics();
        services.AddSingleton<ITextEmbedder>(sp =>
        {
            var options = sp.GetRequiredService<IOptions<GuardOptions>>();
            ITextEmbedder model = options.Value.Embedder == "SentenceEncoder"
                ? new SentenceEncoderEmbedder(options, sp.GetRequiredService<ILogger<SentenceEncoderEmbedder>>())
                : new MiniLmEmbedder(options, sp.GetRequiredService<ILogger<MiniLmEmbedder>>());
            return new SentenceVectorCache(model, options.Value.SentenceCacheEntries);
        });
        services.AddSingleton<PolicyParser>();
        services.AddSingleton<PolicyStore>();
        services.AddSingleton<JsonSchemaValidator>();
        services.AddSingleton<GuardTelemetry>();
        services.AddSingleton<PolicyEvaluator>();
        services.AddValidatedOptions<QualityOptions, QualityOptionsValidator>(configuration.GetSection(QualityOptions.SectionName));
        services.AddSingleton<QualityTelemetry>();
        services.AddSingleton<AnswerScorer>();
        services.AddSingleton<DriftMonitor>();
        services.AddSingleton<JudgeTelemetry>();
        services.AddSingleton<JudgeClient>();
        return services;
    }
}
