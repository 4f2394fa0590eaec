using Grpc.Reflection;
using Mesh.Gateway;
using Mesh.Gateway.Assistant;
using Mesh.Gateway.Authentication;
using Mesh.Gateway.Authorization;
using Mesh.Gateway.GrpcWire;
using Mesh.Gateway.Health;
using Mesh.Gateway.Metering;
using Mesh.Gateway.Observability;
using Mesh.Gateway.OpenAI;
using Mesh.Gateway.RateLimiting;
using Mesh.Gateway.Reflection;
using Mesh.Gateway.Routing;
using Mesh.Gateway.Tenancy;
using Mesh.ServiceDefaults;
using Mesh.ServiceDefaults.Hosting;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.Extensions.Configuration.Json;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.Options;
using OpenTelemetry.Trace;
using Yarp.ReverseProxy.Forwarder;
using Yarp.ReverseProxy.Health;

namespace Mesh.Gateway;

/// <summary>Entry point of the Gateway service host.</summary>
public static class Program
{
    /// <summary>Runs the gateway; a refused configuration prints one line and exits 1.</summary>
    public static async Task<int> Main(string[] args)
    {
        // `Mesh.Gateway hash-key <key>` prints what Gateway:ApiKeys:<name>:Sha256 stores.
        if (args is ["hash-key", var key])
        {
            Console.WriteLine(ApiKeyStore.Hash(key));
            return 0;
        }

        return await MeshHost.RunAsync(GatewayHost.CreateApp, args);
    }
}

/// <summary>Builds the Gateway web application; tests start the same application on loopback.</summary>
public static class GatewayHost
{
    /// <summary>The default routes and clusters, read before environment variables and arguments so both override it.</summary>
    public const string DefaultsFile = "mesh-gateway.json";

    /// <summary>Builds the gateway host from command-line arguments and configuration (also used by tests and benchmarks).</summary>
    public static WebApplication CreateApp(string[] args)
    {
        var builder = WebApplication.CreateSlimBuilder(args);
        builder.Configuration.Sources.Insert(0, new JsonConfigurationSource
        {
            Path = DefaultsFile,
            Optional = false,
            FileProvider = new PhysicalFileProvider(AppContext.BaseDirectory),
        });
        builder.AddMeshHost("mesh-gateway", grpcPort: 8080, httpPort: 8081);
        builder.Services.ConfigureOpenTelemetryTracerProvider(t => t.AddSource("Yarp.ReverseProxy"));

        builder.Services.AddValidatedOptions<GatewayOptions, GatewayOptionsValidator>(builder.Configuration.GetSection(GatewayOptions.SectionName));
        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.AddSingleton(_ => GrpcMethodCatalog.FromContracts());
        builder.Services.AddSingleton<ApiKeyStore>();
        builder.Services.AddSingleton<KeyLimitsRegistry>();
        builder.Services.AddSingleton<GatewayMetrics>();

        // Who is calling: API keys, and a default policy the routes name ("AuthorizationPolicy": "default").
        builder.Services.AddAuthentication(ApiKeyAuthenticationHandler.SchemeName)
            .AddScheme<AuthenticationSchemeOptions, ApiKeyAuthenticationHandler>(ApiKeyAuthenticationHandler.SchemeName, null);
        builder.Services.AddAuthorizationBuilder().SetDefaultPolicy(
            new AuthorizationPolicyBuilder(ApiKeyAuthenticationHandler.SchemeName).RequireAuthenticatedUser().Build());

        // YARP: routes and clusters from configuration, gRPC health probes, DNS resolution of
        // destinations (a Kubernetes headless Service name becomes one destination per pod).
        builder.Services.AddReverseProxy()
            .LoadFromConfig(builder.Configuration.GetSection("ReverseProxy"))
            .AddDnsDestinationResolver(o => builder.Configuration.GetSection("Gateway:DnsDestinationResolver").Bind(o))
            .AddTransforms<TenancyTransformProvider>()
            .AddTransforms<DeadlineTransformProvider>()
            .AddTransforms<BufferedBodyTransformProvider>()
            .AddConfigFilter<RequireKeyByDefaultConfigFilter>();
        builder.Services.AddSingleton<IActiveHealthCheckPolicy, GrpcHealthCheckPolicy>();
        builder.Services.Replace(ServiceDescriptor.Singleton<IProbingRequestFactory, GrpcHealthProbingRequestFactory>());
        builder.Services.Replace(ServiceDescriptor.Singleton<IForwarderHttpClientFactory, GatewayForwarderHttpClientFactory>());

        // Reflection lists the routed services too; registered after ServiceDefaults' AddGrpcReflection, so this one wins.
        builder.Services.AddSingleton<ReflectionServiceImpl>(GatewayReflection.Create);
        builder.Services.AddMeshAssistant(builder.Configuration);
        builder.Services.AddOpenAIApi();

        var app = builder.Build();
        WarnIfTenantUnsigned(app);
        app.UseMiddleware<AccessLogMiddleware>();
        app.UseAuthentication();
        app.UseAuthorization();
        app.MapMeshDefaults();
        app.MapMeshAssistant();
        app.MapOpenAIApi();
        app.MapReverseProxy(proxy =>
        {
            // First, so that it sees how the forwarding ended after everything else has run.
            proxy.UseMiddleware<UpstreamFailureMiddleware>();
            proxy.UseMiddleware<KeyRateLimitMiddleware>();
            proxy.UseMiddleware<ResourceAuthorizationMiddleware>();
            proxy.UseMiddleware<TokenMeteringMiddleware>();
            proxy.UseSessionAffinity();
            proxy.UseLoadBalancing();
            proxy.UsePassiveHealthChecks();
        });
        return app;
    }

    private static void WarnIfTenantUnsigned(WebApplication app)
    {
        if (string.IsNullOrEmpty(app.Services.GetRequiredService<IOptions<GatewayOptions>>().Value.TenantSigningKey))
        {
            app.Logger.LogWarning("Gateway:TenantSigningKey is not set: services receive x-mesh-tenant unsigned and cannot tell it from a forged one");
        }
    }
}
