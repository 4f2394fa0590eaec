using Mesh.Retrieval.Collections;
using Mesh.Retrieval.Embedding;
using Mesh.Retrieval.Services;
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

        builder.Services.AddOptions<RetrievalOptions>().Bind(builder.Configuration.GetSection(RetrievalOptions.SectionName));
        builder.Services.AddSingleton<MiniLmTextEmbedder>();
        builder.Services.AddSingleton<IReadOnlyDictionary<string, ITextEmbedder>>(sp => new Dictionary<string, ITextEmbedder>(StringComparer.Ordinal)
        {
            [MiniLmTextEmbedder.ModelName] = sp.GetRequiredService<MiniLmTextEmbedder>(),
        });
        builder.Services.AddSingleton<RetrievalMetrics>();
        builder.Services.AddSingleton<CollectionManager>();
        // Hosted services start before Kestrel listens: every collection is recovered before the first call.
        builder.Services.AddHostedService(sp => sp.GetRequiredService<CollectionManager>());
        builder.Services.AddSingleton<RetrievalExceptionInterceptor>();
        builder.Services.AddGrpc(o =>
        {
            o.Interceptors.Add<RetrievalExceptionInterceptor>();
            o.MaxReceiveMessageSize = 64 * 1024 * 1024;
        });

        var app = builder.Build();
        app.MapMeshDefaults();
        app.MapGrpcService<RetrievalGrpcService>();
        return app;
    }
}
