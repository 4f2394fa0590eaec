using System.Diagnostics.Metrics;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Mesh.ServiceDefaults;

/// <summary>
/// The one place that wires what every Mesh host needs, in the manner of eShop's ServiceDefaults:
/// Kestrel endpoints, structured JSON logs on stderr, OpenTelemetry (traces and metrics, OTLP when
/// <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set, Prometheus scrape endpoint always), gRPC with
/// reflection and <c>grpc.health.v1</c>.
/// </summary>
public static class MeshServiceDefaults
{
    /// <summary>Prefix of every ActivitySource and Meter Mesh code creates ("Mesh.Inference", …).</summary>
    public const string TelemetryPrefix = "Mesh.";

    /// <summary>Logging categories kept at Warning unless configuration says otherwise.</summary>
    public static readonly IReadOnlyList<string> QuietFrameworkCategories = ["Microsoft.AspNetCore", "Grpc", "Yarp"];

    /// <summary>
    /// Adds what every host shares. Call once, before any other <c>AddGrpc</c>: a later
    /// <c>AddGrpc</c> registers grpc-dotnet's own method binder again (tune gRPC with
    /// <c>Configure&lt;GrpcServiceOptions&gt;</c> instead).
    /// </summary>
    public static WebApplicationBuilder AddMeshServiceDefaults(this WebApplicationBuilder builder, string serviceName)
    {
        var endpoints = builder.Configuration.GetSection(MeshEndpointOptions.SectionName).Get<MeshEndpointOptions>()
            ?? new MeshEndpointOptions();
        builder.Services.AddSingleton(endpoints);
        builder.WebHost.ConfigureKestrel(kestrel => ConfigureEndpoints(kestrel, endpoints));

        // Framework request logs (4 Information lines per call, health probes included) are off by
        // default: each host writes its own structured line per call. Configuration still overrides.
        builder.Configuration.AddInMemoryCollection(QuietFrameworkCategories
            .Select(c => new KeyValuePair<string, string?>($"Logging:LogLevel:{c}", "Warning"))
            .Where(kv => builder.Configuration[kv.Key] is null));
        builder.Logging.ClearProviders();
        builder.Logging.AddJsonConsole(o =>
        {
            o.IncludeScopes = true;
            o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ ";
            o.UseUtcTimestamp = true;
        });
        // Logs go to stderr so that a host used as a command-line tool keeps stdout for its output.
        builder.Services.Configure<ConsoleLoggerOptions>(o => o.LogToStandardErrorThreshold = LogLevel.Trace);

        var exportsTraces = !string.IsNullOrWhiteSpace(builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]);
        var otel = builder.Services.AddOpenTelemetry()
            .ConfigureResource(r => r.AddService(serviceName))
            .WithTracing(t =>
            {
                t.AddSource(TelemetryPrefix + "*")
                    .AddAspNetCoreInstrumentation()
                    .AddGrpcClientInstrumentation()
                    .AddHttpClientInstrumentation();
                // With nowhere to send spans, record none: activities still carry the trace context
                // (traceparent propagates, logs keep their trace ids), but no instrumentation fills
                // in tags on every call of every hop. OTEL_TRACES_SAMPLER, when set, decides instead.
                if (!exportsTraces && string.IsNullOrWhiteSpace(builder.Configuration["OTEL_TRACES_SAMPLER"]))
                {
                    t.SetSampler(new AlwaysOffSampler());
                }
            })
            .WithMetrics(m => m
                // Meters made by another host's IMeterFactory (ASP.NET Core's and Mesh's own, when several
                // hosts share a process, as the tests and an all-in-one run do) are that host's to export:
                // without this each /metrics would carry every host's series under one service name.
                .OwnMetersOnly()
                .AddMeter(TelemetryPrefix + "*")
                .AddAspNetCoreInstrumentation()
                .AddRuntimeInstrumentation()
                // A scrape shows every measurement taken before it: the exporter's default 300 ms response
                // cache would hand a second scraper (or a test scraping right after a call) an older view.
                .AddPrometheusExporter(o => o.ScrapeResponseCacheDurationMilliseconds = 0));
        if (exportsTraces)
        {
            otel.UseOtlpExporter();
        }

        builder.Services.AddGrpc(o =>
        {
            o.EnableDetailedErrors = false;
            // One mapping of exceptions to statuses for every service and call type.
            o.Interceptors.Add<Errors.ServiceExceptionInterceptor>();
        });
        // Replace grpc-dotnet's binder so malformed request messages get INVALID_ARGUMENT, not UNKNOWN.
        builder.Services.RemoveAll(typeof(Grpc.AspNetCore.Server.Model.IServiceMethodProvider<>));
        builder.Services.AddSingleton(typeof(Grpc.AspNetCore.Server.Model.IServiceMethodProvider<>), typeof(MalformedRequestServiceMethodProvider<>));
        builder.Services.AddGrpcReflection();
        builder.Services.Configure<Tenancy.TenancyOptions>(builder.Configuration.GetSection(Tenancy.TenancyOptions.SectionName));
        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<Tenancy.TenantResolver>();
        builder.Services.AddGrpcHealthChecks().AddCheck("self", () => Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckResult.Healthy());
        return builder;
    }

    /// <summary>Maps reflection, grpc.health.v1, <c>/metrics</c> and <c>/healthz</c>.</summary>
    public static WebApplication MapMeshDefaults(this WebApplication app)
    {
        app.MapGrpcReflectionService();
        app.MapGrpcHealthChecksService();
        app.MapPrometheusScrapingEndpoint("/metrics");
        app.MapGet("/healthz", () => "ok");
        return app;
    }

    /// <summary>The bound address of the gRPC endpoint after start (resolves port 0).</summary>
    public static Uri GetGrpcAddress(this WebApplication app) => app.GetBoundAddresses()[0];

    /// <summary>Bound addresses in the order the endpoints were configured: gRPC first, then HTTP.</summary>
    public static IReadOnlyList<Uri> GetBoundAddresses(this WebApplication app)
    {
        var feature = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()
            ?? throw new InvalidOperationException("The server exposes no addresses; call StartAsync first.");
        return feature.Addresses.Select(a => new Uri(a.Replace("[::]", "127.0.0.1", StringComparison.Ordinal))).ToList();
    }

    private static void ConfigureEndpoints(KestrelServerOptions kestrel, MeshEndpointOptions endpoints)
    {
        var grpc = new Uri(endpoints.Grpc);
        kestrel.Listen(ToEndPoint(grpc), listen =>
        {
            if (!string.IsNullOrEmpty(endpoints.CertificatePath))
            {
                listen.Protocols = HttpProtocols.Http1AndHttp2;
                listen.UseHttps(endpoints.CertificatePath, endpoints.CertificatePassword);
            }
            else
            {
                listen.Protocols = HttpProtocols.Http2;
            }
        });
        if (!string.IsNullOrWhiteSpace(endpoints.Http))
        {
            kestrel.Listen(ToEndPoint(new Uri(endpoints.Http)), listen => listen.Protocols = HttpProtocols.Http1);
        }
    }

    private static IPEndPoint ToEndPoint(Uri uri)
    {
        var address = uri.Host switch
        {
            "localhost" => IPAddress.Loopback,
            "*" or "+" => IPAddress.Any,
            _ => IPAddress.Parse(uri.Host.Trim('[', ']')),
        };
        return new IPEndPoint(address, uri.Port);
    }

    // Drops instruments whose meter another host's IMeterFactory made (see AddMeshHost).
    private static MeterProviderBuilder OwnMetersOnly(this MeterProviderBuilder metrics)
    {
        if (metrics is IDeferredMeterProviderBuilder deferred)
        {
            deferred.Configure((services, builder) =>
            {
                var own = services.GetRequiredService<IMeterFactory>();
                builder.AddView(instrument => instrument.Meter.Scope is IMeterFactory scope && !ReferenceEquals(scope, own)
                    ? MetricStreamConfiguration.Drop
                    : null);
            });
        }
        return metrics;
    }
}
