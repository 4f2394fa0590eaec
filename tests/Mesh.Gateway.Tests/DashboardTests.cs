using Grpc.Core;
using System.Text.Json;
using System.Text.RegularExpressions;
using Grpc.Net.Client;
using Mesh.Gateway.Tests.Assistant;
using Mesh.Gateway.Tests.Infrastructure;
using Mesh.Guard;
using Mesh.Guard.V1;
using Mesh.ServiceDefaults;

namespace Mesh.Gateway.Tests;

/// <summary>
/// k8s/dashboards/mesh-quality.json queries only metrics Mesh exports: every metric name in its
/// PromQL must appear in a real /metrics scrape — the gateway's and the fixture Guard's after an assistant answer, and a Guard host's with drift windows small
/// enough that a few scored answers produce drift gauges and an alert.
/// </summary>
[Collection(AssistantCollection.Name)]
public sealed partial class DashboardTests(AssistantFixture mesh)
{
    [Fact]
    public async Task Every_metric_the_quality_dashboard_queries_is_exported()
    {
        var dashboard = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(RepoPaths.Root, "k8s", "dashboards", "mesh-quality.json")));
        var queried = new SortedSet<string>(StringComparer.Ordinal);
        var expressions = new List<string>();
        Collect(dashboard.RootElement, expressions);
        foreach (var expr in expressions)
        {
            foreach (Match m in MetricSelector().Matches(expr))
            {
                queried.Add(m.Groups[1].Value);
            }

            foreach (Match m in LabelValues().Matches(expr))
            {
                queried.Add(m.Groups[1].Value);
            }
        }

        Assert.Contains("mesh_assistant_groundedness_bucket", queried);
        Assert.Contains("mesh_assistant_drift_mmd2", queried);

        // One assistant answer: gateway, inference and quality metrics.
        var ask = new Mesh.Assistant.V1.AssistantService.AssistantServiceClient(mesh.Gateway.Channel).Ask(new Mesh.Assistant.V1.AskRequest
        {
            Model = AssistantFixture.Model,
            Collection = AssistantFixture.Collection,
            Messages = { new Mesh.Assistant.V1.ChatMessage { Role = Mesh.Assistant.V1.Role.User, Content = "How long does shipping take?" } },
            MaxTokens = 16,
        }, mesh.Key.Metadata);
        await foreach (var _ in ask.ResponseStream.ReadAllAsync())
        {
        }

        var exported = new HashSet<string>(StringComparer.Ordinal);
        using var http = new HttpClient();
        Names(await http.GetStringAsync(new Uri(mesh.Gateway.HttpAddress, "/metrics")), exported);
        // The answer's quality metrics are Guard's (each host exports only its own meters).
        Names(await http.GetStringAsync(new Uri(mesh.Guard.HttpAddress, "/metrics")), exported);

        // A Guard whose drift windows are two exchanges long and whose PSI alerts on any change.
        var guard = GuardHost.CreateApp(
        [
            "--Mesh:Endpoints:Grpc=http://127.0.0.1:0", "--Mesh:Endpoints:Http=http://127.0.0.1:0", "--Logging:LogLevel:Default=Warning",
            "--Guard:Quality:Drift:ReferenceSize=2", "--Guard:Quality:Drift:WindowSize=2", "--Guard:Quality:Drift:EvaluateEvery=1",
            "--Guard:Quality:Drift:ConsecutiveComparisons=1", "--Guard:Quality:Drift:PsiThreshold=0",
        ]);
        await guard.StartAsync();
        try
        {
            using var channel = GrpcChannel.ForAddress(guard.GetGrpcAddress());
            var quality = new QualityService.QualityServiceClient(channel);
            string[] questions = ["Is shipping free?", "Do you ship to Canada?", "How long do I have to return an item that does not fit me?", "Which payment methods do you accept for gift cards and orders over fifty dollars?"];
            foreach (var q in questions)
            {
                var request = new ScoreAnswerRequest { Model = "m", Question = q, Answer = "Standard shipping is free on orders over $50 [1].", InputVerdict = Mesh.Guard.V1.Action.Allow };
                request.Sources.Add(new AnswerSource { Id = "faq-05", Text = "Standard shipping is free on orders over $50; otherwise it costs $5.95." });
                await quality.ScoreAnswerAsync(request);
            }

            Names(await http.GetStringAsync(new Uri(guard.GetBoundAddresses()[1], "/metrics")), exported);
        }
        finally
        {
            await guard.StopAsync();
            await guard.DisposeAsync();
        }

        var missing = queried.Where(q => !exported.Contains(q)).ToList();
        Assert.True(missing.Count == 0, $"queried but not exported: {string.Join(", ", missing)}");
    }

    private static void Collect(JsonElement element, List<string> into)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                foreach (var p in element.EnumerateObject())
                {
                    if (p.Name is "expr" or "query" && p.Value.ValueKind == JsonValueKind.String)
                    {
                        into.Add(p.Value.GetString()!);
                    }
                    else
                    {
                        Collect(p.Value, into);
                    }
                }

                break;
            case JsonValueKind.Array:
                foreach (var e in element.EnumerateArray())
                {
                    Collect(e, into);
                }

                break;
        }
    }

    /// <summary>Series names of a Prometheus text exposition.</summary>
    private static void Names(string exposition, HashSet<string> into)
    {
        foreach (var line in exposition.Split('\n'))
        {
            if (line.Length > 0 && line[0] != '#')
            {
                into.Add(line[..line.IndexOfAny(['{', ' '])]);
            }
        }
    }

    /// <summary>A metric name followed by a label selector or a range: labels are followed by '=', ',' or ')'.</summary>
    [GeneratedRegex(@"([a-zA-Z_:][a-zA-Z0-9_:]*)\s*[\{\[]")]
    private static partial Regex MetricSelector();

    [GeneratedRegex(@"label_values\(\s*([a-zA-Z_:][a-zA-Z0-9_:]*)")]
    private static partial Regex LabelValues();
}
