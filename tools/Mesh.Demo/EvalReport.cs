using System.Globalization;
using System.Net;
using System.Text;
using ScottPlot;

namespace Mesh.Demo;

/// <summary>
/// The report of an eval run: retrieval hit rate@k (share of questions with an expected source among
/// the k retrieved), mean groundedness and answer relevance (from <c>Done.scores</c>), latency
/// percentiles (nearest rank) of the whole call and of the first answer text; as Markdown and as an
/// HTML page with two PNG charts (ScottPlot) embedded as data URIs, so the page is one file.
/// </summary>
internal sealed class EvalReport(IReadOnlyList<EvalReport.Result> results, int topK, string model, string setName)
{
    /// <summary>One question's outcome.</summary>
    public sealed record Result(
        EvalCommand.Item Item, IReadOnlyList<string> Retrieved, bool Hit, string Answer, bool Blocked,
        double? Groundedness, double? Relevance, double TotalMs, double? FirstDeltaMs);

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

    /// <summary>Nearest-rank percentile <paramref name="p"/> (0..100) of the whole-call latency, ms.</summary>
    public double Latency(double p) => Percentile([.. results.Select(r => r.TotalMs)], p);

    /// <summary>One paragraph for the console.</summary>
    public string Summary() =>
        string.Create(Inv, $"{results.Count} questions, hit rate@{topK} {HitRate:F3}, groundedness {MeanGroundedness:F3}, relevance {MeanRelevance:F3}, latency p50 {Latency(50):F0} ms p90 {Latency(90):F0} ms p99 {Latency(99):F0} ms");

    /// <summary>Writes report.md, report.html and the two chart PNGs into <paramref name="folder"/>; returns the two report paths.</summary>
    public (string Markdown, string Html) Write(string folder)
    {
        Directory.CreateDirectory(folder);
        var groundedness = Path.Combine(folder, "groundedness.png");
        var latency = Path.Combine(folder, "latency.png");
        GroundednessChart().SavePng(groundedness, 640, 360);
        LatencyChart().SavePng(latency, 640, 360);
        var markdown = Path.Combine(folder, "report.md");
        var html = Path.Combine(folder, "report.html");
        File.WriteAllText(markdown, Markdown());
        File.WriteAllText(html, Html(File.ReadAllBytes(groundedness), File.ReadAllBytes(latency)));
        return (markdown, html);
    }

    /// <summary>The summary table and one row per question.</summary>
    public string Markdown()
    {
        var md = new StringBuilder();
        md.Append(Inv, $"# Eval report: {setName}, model {model}\n\n");
        md.Append("| metric | value |\n|---|---:|\n");
        foreach (var (name, value) in SummaryRows())
        {
            md.Append(Inv, $"| {name} | {value} |\n");
        }

        md.Append("\n![groundedness](groundedness.png)\n![latency](latency.png)\n\n");
        md.Append("| # | question | hit | groundedness | relevance | total ms |\n|---:|---|:-:|---:|---:|---:|\n");
        for (var i = 0; i < results.Count; i++)
        {
            var r = results[i];
            md.Append(Inv, $"| {i + 1} | {r.Item.Question.Replace("|", "\\|", StringComparison.Ordinal)} | {(r.Blocked ? "blocked" : r.Hit ? "yes" : "no")} | {Show(r.Groundedness)} | {Show(r.Relevance)} | {r.TotalMs:F0} |\n");
        }

        return md.ToString();
    }

    private string Html(byte[] groundednessPng, byte[] latencyPng)
    {
        var html = new StringBuilder();
        html.Append("<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>Mesh eval report</title>")
            .Append("<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px}img{margin:8px}</style></head><body>");
        html.Append(Inv, $"<h1>Eval report: {Enc(setName)}, model {Enc(model)}</h1><table><tr><th>metric</th><th>value</th></tr>");
        foreach (var (name, value) in SummaryRows())
        {
            html.Append(Inv, $"<tr><td>{Enc(name)}</td><td>{Enc(value)}</td></tr>");
        }

        html.Append("</table><div>")
            .Append(Inv, $"<img id=\"groundedness\" alt=\"groundedness\" src=\"data:image/png;base64,{Convert.ToBase64String(groundednessPng)}\">")
            .Append(Inv, $"<img id=\"latency\" alt=\"latency\" src=\"data:image/png;base64,{Convert.ToBase64String(latencyPng)}\">")
            .Append("</div><table><tr><th>#</th><th>question</th><th>retrieved</th><th>hit</th><th>groundedness</th><th>relevance</th><th>total ms</th><th>answer</th></tr>");
        for (var i = 0; i < results.Count; i++)
        {
            var r = results[i];
            html.Append(Inv, $"<tr><td>{i + 1}</td><td>{Enc(r.Item.Question)}</td><td>{Enc(string.Join(", ", r.Retrieved))}</td><td>{(r.Blocked ? "blocked" : r.Hit ? "yes" : "no")}</td><td>{Show(r.Groundedness)}</td><td>{Show(r.Relevance)}</td><td>{r.TotalMs:F0}</td><td>{Enc(r.Answer)}</td></tr>");
        }

        return html.Append("</table></body></html>").ToString();
    }

    private List<(string, string)> SummaryRows() =>
    [
        ("questions", results.Count.ToString(Inv)),
        ("blocked", results.Count(r => r.Blocked).ToString(Inv)),
        ($"retrieval hit rate@{topK}", HitRate.ToString("F3", Inv)),
        ("mean groundedness", MeanGroundedness.ToString("F3", Inv)),
        ("mean answer relevance", MeanRelevance.ToString("F3", Inv)),
        ("latency p50 / p90 / p99 (ms)", string.Create(Inv, $"{Latency(50):F0} / {Latency(90):F0} / {Latency(99):F0}")),
        ("first text p50 / p99 (ms)", string.Create(Inv, $"{Percentile([.. results.Where(r => r.FirstDeltaMs is > 0).Select(r => r.FirstDeltaMs!.Value)], 50):F0} / {Percentile([.. results.Where(r => r.FirstDeltaMs is > 0).Select(r => r.FirstDeltaMs!.Value)], 99):F0}")),
    ];

    private Plot GroundednessChart()
    {
        // Ten bins over [0, 1]; the last bin includes 1.
        var counts = new double[10];
        foreach (var g in results.Where(r => r.Groundedness is not null).Select(r => r.Groundedness!.Value))
        {
            counts[Math.Min(9, (int)(g * 10))]++;
        }

        var plot = new Plot();
        plot.Add.Bars(Enumerable.Range(0, 10).Select(i => i / 10.0 + 0.05).ToArray(), counts);
        plot.Title("Groundedness per answer");
        plot.XLabel("share of sentences supported by a source");
        plot.YLabel("answers");
        return plot;
    }

    private Plot LatencyChart()
    {
        var latencies = results.Select(r => r.TotalMs).ToArray();
        var plot = new Plot();
        plot.Add.Bars(Enumerable.Range(1, latencies.Length).Select(i => (double)i).ToArray(), latencies);
        plot.Title(string.Create(Inv, $"Latency per question (p50 {Latency(50):F0} ms, p99 {Latency(99):F0} ms)"));
        plot.XLabel("question");
        plot.YLabel("whole call, ms");
        return plot;
    }

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
