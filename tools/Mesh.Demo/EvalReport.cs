using System.Globalization;
using System.Net;
using System.Text;
using Mesh.Guard.V1;

namespace Mesh.Demo;

/// <summary>
/// The report of an eval run: retrieval hit rate@k (share of questions with an expected source among
/// the k retrieved), mean groundedness and answer relevance (from <c>Done.scores</c>), with
/// <c>--judge</c> the judge's mean score 1..5, its distribution and the answers below the policy's
/// minimum, and latency percentiles (nearest rank) of the whole call and of the first answer text; as
/// Markdown and as an HTML page with PNG charts (<see cref="EvalCharts"/>) embedded as data URIs, so
/// the page is one file.
/// </summary>
internal sealed class EvalReport(IReadOnlyList<EvalReport.Result> results, int topK, string model, string setName)
{
    /// <summary>One question's outcome; <see cref="Judge"/> is set when the run was judged.</summary>
    public sealed record Result(
        EvalCommand.Item Item, IReadOnlyList<string> Retrieved, bool Hit, string Answer, bool Blocked,
        double? Groundedness, double? Relevance, double TotalMs, double? FirstDeltaMs)
    {
        /// <summary>The retrieved sources (id as in <see cref="Retrieved"/>, the text the prompt showed), in prompt order.</summary>
        public IReadOnlyList<AnswerSource> Sources { get; init; } = [];

        /// <summary>The judge's grade of the answer; null when the run was not judged.</summary>
        public EvalJudge.Grade? Judge { get; init; }
    }

    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>Share of questions with expected sources for which one was retrieved.</summary>
    public double HitRate
    {
        get
        {
            var judged = results.Where(r => r.Item.ExpectedSources.Count > 0).ToList();
            return judged.Count == 0 ? double.NaN : judged.Count(r => r.Hit) / (double)judged.Count;
        }
    }

    /// <summary>Mean groundedness of the answers that have one.</summary>
    public double MeanGroundedness => Mean(results.Select(r => r.Groundedness));

    /// <summary>Mean answer relevance.</summary>
    public double MeanRelevance => Mean(results.Select(r => r.Relevance));

    /// <summary>Whether the run asked the judge.</summary>
    public bool Judged => results.Any(r => r.Judge is not null);

    /// <summary>The judge's scores (1..5) of the answers it graded, in ask order.</summary>
    public IReadOnlyList<int> JudgeScores => [.. results.Where(r => r.Judge?.Score is not null).Select(r => r.Judge!.Score!.Value)];

    /// <summary>Mean judge score of the graded answers; NaN when none was graded.</summary>
    public double MeanJudgeScore => JudgeScores.Count == 0 ? double.NaN : JudgeScores.Average();

    /// <summary>Nearest-rank percentile <paramref name="p"/> (0..100) of the whole-call latency, ms.</summary>
    public double Latency(double p) => Percentile([.. results.Select(r => r.TotalMs)], p);

    /// <summary>One paragraph for the console.</summary>
    public string Summary() =>
        string.Create(Inv, $"{results.Count} questions, hit rate@{topK} {HitRate:F3}, groundedness {MeanGroundedness:F3}, relevance {MeanRelevance:F3}, ")
        + (Judged ? string.Create(Inv, $"judge score {MeanJudgeScore:F2} of {JudgeScores.Count} graded, ") : "")
        + string.Create(Inv, $"latency p50 {Latency(50):F0} ms p90 {Latency(90):F0} ms p99 {Latency(99):F0} ms");

    /// <summary>Writes report.md, report.html and the chart PNGs into <paramref name="folder"/>; returns the two report paths.</summary>
    public (string Markdown, string Html) Write(string folder)
    {
        Directory.CreateDirectory(folder);
        var charts = new List<(string Name, string Alt)> { ("groundedness", "groundedness per answer"), ("latency", "latency per question") };
        EvalCharts.Groundedness(results.Where(r => r.Groundedness is not null).Select(r => r.Groundedness!.Value))
            .SavePng(Path.Combine(folder, "groundedness.png"), 640, 360);
        EvalCharts.Latency([.. results.Select(r => r.TotalMs)], Latency(50), Latency(99)).SavePng(Path.Combine(folder, "latency.png"), 640, 360);
        if (Judged)
        {
            EvalCharts.Judge(JudgeScores, MeanJudgeScore, JudgeModel).SavePng(Path.Combine(folder, "judge.png"), 640, 360);
            charts.Insert(1, ("judge", "judge score per answer"));
        }

        var markdown = Path.Combine(folder, "report.md");
        var html = Path.Combine(folder, "report.html");
        File.WriteAllText(markdown, Markdown(charts));
        File.WriteAllText(html, Html(charts.Select(c => (c.Name, c.Alt, File.ReadAllBytes(Path.Combine(folder, c.Name + ".png"))))));
        return (markdown, html);
    }

    private string JudgeModel => results.Select(r => r.Judge?.JudgeModel).FirstOrDefault(m => !string.IsNullOrEmpty(m)) ?? "-";

    private string Markdown(IEnumerable<(string Name, string Alt)> charts)
    {
        var md = new StringBuilder();
        md.Append(Inv, $"# Eval report: {setName}, model {model}\n\n");
        md.Append("| metric | value |\n|---|---:|\n");
        foreach (var (name, value) in SummaryRows())
        {
            md.Append(Inv, $"| {name} | {value} |\n");
        }

        md.Append('\n').AppendJoin('\n', charts.Select(c => $"![{c.Alt}]({c.Name}.png)")).Append("\n\n");
        md.Append("| # | question | hit | groundedness | relevance |").Append(Judged ? " judge |" : "").Append(" total ms |\n")
            .Append("|---:|---|:-:|---:|---:|").Append(Judged ? "---:|" : "").Append("---:|\n");
        for (var i = 0; i < results.Count; i++)
        {
            var r = results[i];
            md.Append(Inv, $"| {i + 1} | {Cell(r.Item.Question)} | {HitCell(r)} | {Show(r.Groundedness)} | {Show(r.Relevance)} |")
                .Append(Judged ? $" {r.Judge?.Show() ?? "-"} |" : "")
                .Append(Inv, $" {r.TotalMs:F0} |\n");
        }

        return md.ToString();
    }

    private string Html(IEnumerable<(string Name, string Alt, byte[] Png)> charts)
    {
        var html = new StringBuilder();
        html.Append("<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>Mesh eval report</title>")
            .Append("<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px}img{margin:8px}</style></head><body>");
        html.Append(Inv, $"<h1>Eval report: {Enc(setName)}, model {Enc(model)}</h1><table id=\"summary\"><tr><th>metric</th><th>value</th></tr>");
        foreach (var (name, value) in SummaryRows())
        {
            html.Append(Inv, $"<tr><td>{Enc(name)}</td><td>{Enc(value)}</td></tr>");
        }

        html.Append("</table><div>");
        foreach (var (name, alt, png) in charts)
        {
            html.Append(Inv, $"<img id=\"{name}\" alt=\"{Enc(alt)}\" width=\"640\" height=\"360\" src=\"data:image/png;base64,{Convert.ToBase64String(png)}\">");
        }

        html.Append("</div><table id=\"questions\"><tr><th>#</th><th>question</th><th>retrieved</th><th>hit</th><th>groundedness</th><th>relevance</th>")
            .Append(Judged ? "<th>judge</th><th>judge's reason</th>" : "")
            .Append("<th>total ms</th><th>answer</th></tr>");
        for (var i = 0; i < results.Count; i++)
        {
            var r = results[i];
            html.Append(Inv, $"<tr><td>{i + 1}</td><td>{Enc(r.Item.Question)}</td><td>{Enc(string.Join(", ", r.Retrieved))}</td><td>{HitCell(r)}</td><td>{Show(r.Groundedness)}</td><td>{Show(r.Relevance)}</td>")
                .Append(Judged ? $"<td>{Enc(r.Judge?.Show() ?? "-")}</td><td>{Enc(r.Judge is null ? "" : r.Judge.Error ?? r.Judge.Skipped ?? r.Judge.Reason)}</td>" : "")
                .Append(Inv, $"<td>{r.TotalMs:F0}</td><td>{Enc(r.Answer)}</td></tr>");
        }

        return html.Append("</table></body></html>").ToString();
    }

    private List<(string, string)> SummaryRows()
    {
        var firstText = results.Where(r => r.FirstDeltaMs is > 0).Select(r => r.FirstDeltaMs!.Value).ToArray();
        var rows = new List<(string, string)>
        {
            ("questions", results.Count.ToString(Inv)),
            ("blocked", results.Count(r => r.Blocked).ToString(Inv)),
            ($"retrieval hit rate@{topK}", HitRate.ToString("F3", Inv)),
            ("mean groundedness", MeanGroundedness.ToString("F3", Inv)),
            ("mean answer relevance", MeanRelevance.ToString("F3", Inv)),
        };
        if (Judged)
        {
            var graded = results.Where(r => r.Judge?.Score is not null).ToList();
            rows.Add(("judge model", JudgeModel));
            rows.Add(("mean judge score (1..5)", MeanJudgeScore.ToString("F2", Inv)));
            rows.Add(("judge scores 1 / 2 / 3 / 4 / 5", string.Join(" / ", Enumerable.Range(1, 5).Select(s => JudgeScores.Count(x => x == s).ToString(Inv)))));
            rows.Add(("below the policy's minimum: flag / block", string.Create(Inv,
                $"{graded.Count(r => r.Judge!.Action == JudgeAction.Flag)} / {graded.Count(r => r.Judge!.Action == JudgeAction.Block)}")));
            rows.Add(("not graded: skipped / error", string.Create(Inv,
                $"{results.Count(r => r.Judge?.Skipped is not null)} / {results.Count(r => r.Judge?.Error is not null)}")));
            rows.Add(("judge time p50 / p99 (s)", string.Create(Inv,
                $"{Percentile([.. graded.Select(r => r.Judge!.Seconds)], 50):F2} / {Percentile([.. graded.Select(r => r.Judge!.Seconds)], 99):F2}")));
        }

        rows.Add(("latency p50 / p90 / p99 (ms)", string.Create(Inv, $"{Latency(50):F0} / {Latency(90):F0} / {Latency(99):F0}")));
        rows.Add(("first text p50 / p99 (ms)", string.Create(Inv, $"{Percentile(firstText, 50):F0} / {Percentile(firstText, 99):F0}")));
        return rows;
    }

    private static string HitCell(Result r) => r.Blocked ? "blocked" : r.Hit ? "yes" : "no";

    private static string Cell(string text) => text.Replace("|", "\\|", StringComparison.Ordinal).ReplaceLineEndings(" ");

    private static double Mean(IEnumerable<double?> values)
    {
        var present = values.Where(v => v is not null).Select(v => v!.Value).ToList();
        return present.Count == 0 ? double.NaN : present.Average();
    }

    private static double Percentile(double[] values, double p)
    {
        if (values.Length == 0)
        {
            return double.NaN;
        }

        Array.Sort(values);
        var rank = (int)Math.Ceiling(p / 100 * values.Length);
        return values[Math.Clamp(rank - 1, 0, values.Length - 1)];
    }

    private static string Show(double? value) => value is { } v ? v.ToString("F2", Inv) : "-";

    private static string Enc(string text) => WebUtility.HtmlEncode(text);
}
