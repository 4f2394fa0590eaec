using Mesh.Gateway.Tests.Infrastructure;
using Mesh.Guard;
using Mesh.Inference;
using Mesh.Retrieval;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Mesh.Gateway.Tests;

/// <summary>
/// With no logging configuration, no host writes the framework's per-request Information lines
/// (ASP.NET Core hosting and routing, grpc-dotnet, YARP: about four per call, health probes
/// included), while each host's own Information logs stay on; configuration can still turn them on.
/// </summary>
public sealed class HostLoggingTests
{
    public static TheoryData<string> Hosts => ["gateway", "inference", "retrieval", "guard"];

    [Theory]
    [MemberData(nameof(Hosts))]
    public async Task Framework_request_logs_are_quiet_by_default_and_the_hosts_own_logs_are_not(string host)
    {
        await using var app = Create(host);
        var loggers = app.Services.GetRequiredService<ILoggerFactory>();

        foreach (var category in new[] { "Microsoft.AspNetCore.Hosting.Diagnostics", "Microsoft.AspNetCore.Routing.EndpointMiddleware", "Grpc.AspNetCore.Server.ServerCallHandler", "Yarp.ReverseProxy.Forwarder.HttpForwarder" })
        {
            Assert.False(loggers.CreateLogger(category).IsEnabled(LogLevel.Information), $"{category} logs Information");
            Assert.True(loggers.CreateLogger(category).IsEnabled(LogLevel.Warning), $"{category} hides warnings");
        }

        Assert.True(loggers.CreateLogger(typeof(Observability.AccessLogMiddleware).FullName!).IsEnabled(LogLevel.Information));
        Assert.True(loggers.CreateLogger("Mesh.Guard.Services.GuardGrpcService").IsEnabled(LogLevel.Information));
    }

    [Fact]
    public async Task Configuration_can_turn_framework_request_logs_back_on()
    {
        await using var app = Create("guard", "--Logging:LogLevel:Microsoft.AspNetCore=Information");

        Assert.True(app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Microsoft.AspNetCore.Hosting.Diagnostics").IsEnabled(LogLevel.Information));
    }

    private static WebApplication Create(string host, params string[] extra)
    {
        string[] args = ["--Mesh:Endpoints:Grpc=http://127.0.0.1:0", "--Mesh:Endpoints:Http=http://127.0.0.1:0", .. extra];
        return host switch
        {
            "gateway" => GatewayHost.CreateApp(args),
            "inference" => InferenceHost.CreateApp([.. args, .. MeshFixture.InferenceArgs]),
            "retrieval" => RetrievalHost.CreateApp([.. args, .. MeshFixture.RetrievalArgs()]),
            _ => GuardHost.CreateApp(args),
        };
    }
}
