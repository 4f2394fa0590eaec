using Mesh.Retrieval.Collections;
using Mesh.Retrieval.Embedding;
using Mesh.Retrieval.Services;
using Grpc.AspNetCore.Server;
using Mesh.ServiceDefaults;
using Mesh.ServiceDefaults.Hosting;
using Microsoft.Extensions.Options;

namespace Mesh.Retrieval;

/// <summary>Entry point of the Retrieval service host.</summary>
public static class Program
{
    /// <summary>Runs the host until it is stopped; the exit code is non-zero when it could not start.</summary>
    public static async Task<int> Main(string[] args)
    {
        return await MeshHost.RunAsync(RetrievalHost.CreateApp, args);
    }
}

/// <summary>Builds the Retrieval web application; tests start the same application on loopback.</summary>
public static class RetrievalHost
{
    /// <summary>
    /// The configured, not yet started application: gRPC (<c>Mesh:Endpoints:Grpc</c>, default port 50052) and
    /// HTTP (<c>/metrics</c>, <c>/healthz</c>, default 9102), options from the <c>Retrieval</c> section
    /// (validated at start), every collection recovered before the first call is taken.
    /// </summary>
    public static WebApplication CreateApp(string[] args)
    {
        var builder = WebApplication.CreateSlimBuilder(args).AddMeshHost("mesh-retrieval", grpcPort: 50052, httpPort: 9102);

        builder.Services.AddValidatedOptions<RetrievalOptions, RetrievalOptionsValidator>(builder.Configuration.GetSection(RetrievalOptions.SectionName));
        builder.Services.AddSingleton<MiniLmTextEmbedder>();
        // Repeated query texts skip MiniLM: the assistant asks popular questions again and again.
        builder.Services.AddSingleton(sp => new QueryEmbeddingCache(
            sp.GetRequiredService<MiniLmTextEmbedder>(), sp.GetRequiredService<IOptions<RetrievalOptions>>().Value.QueryEmbeddingCacheEntries));
        builder.Services.AddSingleton<IReadOnlyDictionary<string, ITextEmbedder>>(sp => new Dictionary<string, ITextEmbedder>(StringComparer.Ordinal)
        {
            [MiniLmTextEmbedder.ModelName] = sp.GetRequiredService<QueryEmbeddingCache>(),
        });
        builder.Services.AddSingleton<RetrievalMetrics>();
        builder.Services.AddSingleton<SnapshotHooks>();
        builder.Services.AddSingleton<CollectionManager>();
        // Hosted services start before Kestrel listens: every collection is recovered before the first call.
        builder.Services.AddHostedService(sp => sp.GetRequiredService<CollectionManager>());
        // RetrievalException is a ServiceException: ServiceDefaults' interceptor maps it.
        builder.Services.Configure<GrpcServiceOptions>(o => o.MaxReceiveMessageSize = 64 * 1024 * 1024);

        var app = builder.Build();
        app.MapMeshDefaults();
        app.MapGrpcService<RetrievalGrpcService>();
        return app;
    }
}
