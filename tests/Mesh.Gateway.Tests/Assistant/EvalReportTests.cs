using System.Globalization;
using System.Text.RegularExpressions;
using Mesh.Demo;
using Mesh.Guard.V1;
using SkiaSharp;

namespace Mesh.Gateway.Tests.Assistant;

/// <summary>
/// Mesh.Demo's <c>eval</c> against the real mesh: hit rate@k from the sources the assistant really
/// retrieved, scores from the done event, with <c>--judge</c> a grade per answer from Guard's judge
/// (stories260K on the fixture's Inference host: meaningless grades, real plumbing), and a report
/// whose HTML page headless Chromium renders with its charts.
/// </summary>
[Collection(AssistantCollection.Name)]
public sealed partial class EvalReportTests(AssistantFixture mesh)
{
    private static readonly EvalCommand.Item[] Items =
    [
        new("How many days do I have to return shoes?", null, ["4"]),
        new("How long does standard shipping take?", null, ["5"]),
        new("Which two-person backpacking tent do you have?", null, ["3"]),
        new("Which shoes do you sell?", null, ["no-such-document"]),
    ];

    [Fact]
    public async Task Eval_reports_hit_rate_scores_and_latency_with_charts()
    {
        var (folder, results) = await RunEvalAsync(judge: false);
        Assert.All(results, r => Assert.Null(r.Judge));
        var markdown = await File.ReadAllTextAsync(Path.Combine(folder, "report.md"));
        Assert.Contains("| retrieval hit rate@2 | 0.750 |", markdown, StringComparison.Ordinal); // the made-up source id cannot be hit
        Assert.Contains("| 4 | Which shoes do you sell? | no |", markdown, StringComparison.Ordinal);
        Assert.DoesNotContain("judge", markdown, StringComparison.Ordinal); // no judge column unless asked
        foreach (var png in new[] { "groundedness.png", "latency.png" })
        {
            AssertPng(Path.Combine(folder, png));
        }

        Assert.False(File.Exists(Path.Combine(folder, "judge.png")));
        var html = await File.ReadAllTextAsync(Path.Combine(folder, "report.html"));
        Assert.Equal(2, html.Split("src=\"data:image/png;base64,").Length - 1);
    }

    [Fact]
    public async Task Eval_judge_grades_each_answer_with_the_question_answer_and_sources_the_assistant_used()
    {
        var (_, results) = await RunEvalAsync(judge: true);

        foreach (var result in results)
        {
            var grade = Assert.IsType<EvalJudge.Grade>(result.Judge);
            Assert.Null(grade.Error);
            Assert.Null(grade.Skipped);
            Assert.InRange(grade.Score!.Value, 1, 5);
            Assert.False(string.IsNullOrWhiteSpace(grade.Reason));
            Assert.Equal(AssistantFixture.Model, grade.JudgeModel);
            Assert.True(grade.Seconds > 0);

            // The sources the judge saw are the retrieved points with the text the assistant's prompt
            // showed: here each document's text, under its point id, in retrieval order.
            Assert.Equal(result.Retrieved, result.Sources.Select(s => s.Id));
            Assert.All(result.Sources, s => Assert.Equal(AssistantFixture.Documents.Single(d => d.Id.ToString(CultureInfo.InvariantCulture) == s.Id).Text, s.Text));

            // The judge decodes greedily, so the same (question, answer, sources) built here from the
            // test's own data gets the same grade: eval sent exactly these.
            var direct = new EvaluateRequest { Model = AssistantFixture.Model, Question = result.Item.Question, Answer = result.Answer };
            direct.Sources.AddRange(result.Retrieved.Select(id => new AnswerSource
            {
                Id = id,
                Text = AssistantFixture.Documents.Single(d => d.Id.ToString(CultureInfo.InvariantCulture) == id).Text,
            }));
            var expected = await new QualityService.QualityServiceClient(mesh.Gateway.Channel)
                .EvaluateAsync(direct, mesh.Key.Metadata, DateTime.UtcNow.AddMinutes(2));
            Assert.Equal((expected.Score, expected.Reason, expected.Action), (grade.Score!.Value, grade.Reason, grade.Action));
        }
    }

    [Fact]
    public async Task The_eval_command_with_judge_writes_the_judge_score_beside_the_other_metrics()
    {
        var folder = Path.Combine(Path.GetTempPath(), "mesh-eval-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(folder);
        var set = Path.Combine(folder, "set.jsonl");
        await File.WriteAllLinesAsync(set, Items.Select(i => System.Text.Json.JsonSerializer.Serialize(new { question = i.Question, expected_sources = i.ExpectedSources })));
        var outDir = Path.Combine(folder, "report");

        var exit = await EvalCommand.RunAsync(new Options(
            ["--gateway", mesh.Gateway.Address.ToString(), "--api-key", mesh.Key.Secret, "--model", AssistantFixture.Model,
             "--collection", AssistantFixture.Collection, "--set", set, "--top-k", "2", "--max-tokens", "16", "--out", outDir, "--judge"],
            EvalCommand.Flags));

        Assert.Equal(0, exit);
        var markdown = await File.ReadAllTextAsync(Path.Combine(outDir, "report.md"));
        Assert.Contains("| retrieval hit rate@2 | 0.750 |", markdown, StringComparison.Ordinal);
        Assert.Contains($"| judge model | {AssistantFixture.Model} |", markdown, StringComparison.Ordinal);
        Assert.Contains("| not graded: skipped / error | 0 / 0 |", markdown, StringComparison.Ordinal);
        Assert.Contains("| # | question | hit | groundedness | relevance | judge | total ms |", markdown, StringComparison.Ordinal);

        // The per-question judge column, the mean and the distribution agree with each other.
        var scores = QuestionRow().Matches(markdown).Select(m => int.Parse(m.Groups["judge"].Value, CultureInfo.InvariantCulture)).ToList();
        Assert.Equal(Items.Length, scores.Count);
        Assert.All(scores, s => Assert.InRange(s, 1, 5));
        Assert.Contains(string.Create(CultureInfo.InvariantCulture, $"| mean judge score (1..5) | {scores.Average():F2} |"), markdown, StringComparison.Ordinal);
        Assert.Contains($"| judge scores 1 / 2 / 3 / 4 / 5 | {string.Join(" / ", Enumerable.Range(1, 5).Select(s => scores.Count(x => x == s)))} |", markdown, StringComparison.Ordinal);
        // The key's tenant has no policy of its own: Guard's default one applies (min_score 3, action flag).
        Assert.Contains($"| below the policy's minimum: flag / block | {scores.Count(s => s < 3)} / 0 |", markdown, StringComparison.Ordinal);
        Assert.Contains("![judge score per answer](judge.png)", markdown, StringComparison.Ordinal);

        AssertPng(Path.Combine(outDir, "judge.png"));
        var html = await File.ReadAllTextAsync(Path.Combine(outDir, "report.html"));
        Assert.Equal(3, html.Split("src=\"data:image/png;base64,").Length - 1);
        Assert.Contains("<th>judge</th><th>judge's reason</th>", html, StringComparison.Ordinal);
    }

    [ChromiumFact]
    public async Task The_html_report_renders_in_headless_chromium_with_all_three_charts()
    {
        var (folder, _) = await RunEvalAsync(judge: true);
        var page = new Uri(Path.Combine(folder, "report.html")).AbsoluteUri;

        // The DOM Chromium built: three chart images and the judge's rows, in the summary table.
        var dom = await Chromium.RunAsync("--dump-dom", page);
        foreach (var id in new[] { "groundedness", "judge", "latency" })
        {
            Assert.Matches($"<img id=\"{id}\"[^>]*src=\"data:image/png;base64,", dom);
        }

        Assert.Contains($"<td>judge model</td><td>{AssistantFixture.Model}</td>", dom, StringComparison.Ordinal);

        // What it drew: a page tall enough for every chart, then each chart's own bar colour on it,
        // which only a decoded and painted chart image can put there.
        var screenshot = Path.Combine(folder, "screenshot.png");
        await Chromium.RunAsync($"--screenshot={screenshot}", "--window-size=1400,1800", "--hide-scrollbars", page);
        using var bitmap = SKBitmap.Decode(screenshot) ?? throw new InvalidDataException($"chromium's screenshot {screenshot} does not decode");
        Assert.Equal((1400, 1800), (bitmap.Width, bitmap.Height));
        var pixels = bitmap.Pixels;
        var nonWhite = pixels.Count(p => p.Red < 240 || p.Green < 240 || p.Blue < 240);
        Assert.True(nonWhite > pixels.Length / 50, $"the page is nearly blank: {nonWhite} of {pixels.Length} pixels are not white");
        foreach (var (name, color) in new[] { ("groundedness", EvalCharts.GroundednessColor), ("judge", EvalCharts.JudgeColor), ("latency", EvalCharts.LatencyColor) })
        {
            var painted = pixels.Count(p => Math.Abs(p.Red - color.R) <= 8 && Math.Abs(p.Green - color.G) <= 8 && Math.Abs(p.Blue - color.B) <= 8);
            Assert.True(painted > 500, $"the {name} chart's bars (#{color.R:x2}{color.G:x2}{color.B:x2}) cover {painted} pixels of the screenshot");
        }
    }

    private async Task<(string Folder, IReadOnlyList<EvalReport.Result> Results)> RunEvalAsync(bool judge)
    {
        var settings = new EvalCommand.Settings(AssistantFixture.Model, AssistantFixture.Collection, TopK: 2, MaxTokens: 16, judge, JudgePolicy: "");
        var results = await EvalCommand.RunSetAsync(mesh.Gateway.Channel, mesh.Key.Metadata, Items, settings);

        Assert.All(results, r => Assert.Equal(2, r.Retrieved.Count));
        Assert.All(results, r => Assert.NotNull(r.Relevance));
        var folder = Path.Combine(Path.GetTempPath(), "mesh-eval-" + Guid.NewGuid().ToString("N"));
        new EvalReport(results, 2, AssistantFixture.Model, "test set").Write(folder);
        return (folder, results);
    }

    private static void AssertPng(string path) => Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], File.ReadAllBytes(path)[..4]);

    /// <summary>A row of the per-question table of a judged report: its judge cell, the score and the policy's action when below its minimum.</summary>
    [GeneratedRegex(@"^\| \d+ \| [^\n]* \| (yes|no|blocked) \| [^|]+ \| [^|]+ \| (?<judge>\d)( \((flag|block)\))? \| \d+ \|$", RegexOptions.Multiline)]
    private static partial Regex QuestionRow();
}
