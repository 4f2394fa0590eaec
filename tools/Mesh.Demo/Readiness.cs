using System.Diagnostics;
using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Net.Client;
using Mesh.Guard.V1;
using Mesh.Inference.V1;
using Mesh.Retrieval.V1;

namespace Mesh.Demo;

/// <summary>
/// Whether the mesh is up: each service's own <c>grpc.health.v1</c> says SERVING, the gateway's does,
/// and one cheap call per service through the gateway (ListModels, ListCollections, ListPolicies)
/// succeeds with the API key, so routing, the key and the service all work end to end.
/// </summary>
internal static class Readiness
{
    public static readonly IReadOnlySet<string> Flags = new HashSet<string>();

    public static async Task<int> RunAsync(Options options, bool wait)
    {
        var services = options.Positional.Count > 0 ? options.Positional : [];
        var timeout = TimeSpan.FromSeconds(options.Int("timeout-s", 120));
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var report = await CheckAsync(options, services);
            if (report.All(r => r.Serving) || !wait || clock.Elapsed > timeout)
            {
                foreach (var (name, serving, detail) in report)
                {
                    Console.WriteLine($"{name,-22} {(serving ? "SERVING" : "NOT_SERVING")}  {detail}");
                }

                return report.All(r => r.Serving) ? 0 : 1;
            }

            await Task.Delay(500);
        }
    }

    private static async Task<List<(string Name, bool Serving, string Detail)>> CheckAsync(Options options, List<string> services)
    {
        var report = new List<(string, bool, string)>();
        foreach (var service in services)
        {
            var (name, url) = service.Split('=', 2) is [var n, var u] ? (n, u) : throw new ArgumentException($"'{service}' is not NAME=URL");
            report.Add(await HealthAsync(name, url));
        }

        report.Add(await HealthAsync("gateway", options.Gateway));
        using var channel = GrpcChannel.ForAddress(options.Gateway);
        var key = new Metadata { { "authorization", $"Bearer {options.ApiKey}" } };
        var deadline = DateTime.UtcNow.AddSeconds(5);
        report.Add(await ThroughGatewayAsync("gateway→inference", async () =>
            $"models: {string.Join(", ", (await new InferenceService.InferenceServiceClient(channel).ListModelsAsync(new(), key, deadline)).Models.Select(m => m.Id))}"));
        report.Add(await ThroughGatewayAsync("gateway→retrieval", async () =>
            $"collections: {string.Join(", ", (await new RetrievalService.RetrievalServiceClient(channel).ListCollectionsAsync(new(), key, deadline)).Collections.Select(c => $"{c.Name} ({c.PointsCount} points)"))}"));
        report.Add(await ThroughGatewayAsync("gateway→guard", async () =>
            $"policies: {string.Join(", ", (await new GuardService.GuardServiceClient(channel).ListPoliciesAsync(new(), key, deadline)).Policies.Select(p => p.Name))}"));
        return report;
    }

    private static async Task<(string, bool, string)> HealthAsync(string name, string url)
    {
        try
        {
            using var channel = GrpcChannel.ForAddress(url);
            var response = await new Health.HealthClient(channel).CheckAsync(new HealthCheckRequest(), deadline: DateTime.UtcNow.AddSeconds(2));
            return (name, response.Status == HealthCheckResponse.Types.ServingStatus.Serving, $"{url} {response.Status}");
        }
        catch (RpcException e)
        {
            return (name, false, $"{url} {e.StatusCode}");
        }
    }

    private static async Task<(string, bool, string)> ThroughGatewayAsync(string name, Func<Task<string>> call)
    {
        try
        {
            return (name, true, await call());
        }
        catch (RpcException e)
        {
            return (name, false, $"{e.StatusCode}: {e.Status.Detail}");
        }
    }
}
