using System.Diagnostics;
using Mesh.Assistant.V1;
using Mesh.Demo;

namespace Mesh.Gateway.Tests.Assistant;

/// <summary>
/// Mesh.Demo's <c>eval</c> against the real mesh: hit rate@k from the sources the assistant really
/// retrieved, scores from the done event, and a report whose HTML page headless Chromium renders.
/// </summary>
[Collection(AssistantCollection.Name)]
public sealed class EvalReportTests(AssistantFixture mesh)
{
    [Fact]
    public async Task Eval_reports_hit_rate_scores_and_latency_with_charts()
    {
        var folder = await RunEvalAsync();
        var markdown = await File.ReadAllTextAsync(Path.Combine(folder, "report.md"));
        Assert.Contains("| retrieval hit rate@2 | 0.750 |", markdown, StringComparison.Ordinal); // the made-up source id cannot be hit
        Assert.Contains("| 4 | Which shoes do you sell? | no |", markdown, StringComparison.Ordinal);
        foreach (var png in new[] { "groundedness.png", "latency.png" })
        {
            var bytes = await File.ReadAllBytesAsync(Path.Combine(folder, png));
            Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], bytes[..4]);
        }

        var html = await File.ReadAllTextAsync(Path.Combine(folder, "report.html"));
        Assert.Equal(2, html.Split("src=\"data:image/png;base64,").Length - 1);
    }

    [ChromiumFact]
    public async Task The_html_report_renders_in_headless_chromium()
    {
        var folder = await RunEvalAsync();
        var screenshot = Path.Combine(folder, "screenshot.png");
        using var chromium = Process.Start(new ProcessStartInfo(ChromiumFactAttribute.Executable!,
            ["--headless", "--no-sandbox", "--disable-gpu", $"--screenshot={screenshot}", "--window-size=1400,1200", new Uri(Path.Combine(folder, "report.html")).AbsoluteUri])
        { RedirectStandardError = true, RedirectStandardOutput = true })!;
        await chromium.WaitForExitAsync(new CancellationTokenSource(TimeSpan.FromMinutes(2)).Token);
        Assert.True(File.Exists(screenshot), "chromium wrote no screenshot");
        Assert.True(new FileInfo(screenshot).Length > 10_000, "the screenshot is nearly empty");
    }

    private async Task<string> RunEvalAsync()
    {
        EvalCommand.Item[] items =
        [
            new("How many days do I have to return shoes?", null, ["4"]),
            new("How long does standard shipping take?", null, ["5"]),
            new("Which two-person backpacking tent do you have?", null, ["3"]),
            new("Which shoes do you sell?", null, ["no-such-document"]),
        ];
        var client = new AssistantService.AssistantServiceClient(mesh.Gateway.Channel);
        var results = new List<EvalReport.Result>();
        foreach (var item in items)
        {
            results.Add(await EvalCommand.AskAsync(client, mesh.Key.Metadata, item, AssistantFixture.Model, AssistantFixture.Collection, topK: 2, maxTokens: 16));
        }

        Assert.All(results, r => Assert.Equal(2, r.Retrieved.Count));
        Assert.All(results, r => Assert.NotNull(r.Relevance));
        var folder = Path.Combine(Path.GetTempPath(), "mesh-eval-" + Guid.NewGuid().ToString("N"));
        new EvalReport(results, 2, AssistantFixture.Model, "test set").Write(folder);
        return folder;
    }
}

/// <summary>A fact that is skipped, with the reason, where no Chromium is installed.</summary>
public sealed class ChromiumFactAttribute : FactAttribute
{
    /// <summary>chromium or chromium-browser on PATH; null when neither is.</summary>
    public static readonly string? Executable = new[] { "chromium", "chromium-browser" }
        .SelectMany(name => (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Select(dir => Path.Combine(dir, name)))
        .FirstOrDefault(File.Exists);

    public ChromiumFactAttribute()
    {
        if (Executable is null)
        {
            Skip = "no chromium or chromium-browser on PATH (`which chromium chromium-browser` finds none)";
        }
    }
}
