using System.Globalization;
using ScottPlot;

namespace Mesh.Demo;

/// <summary>
/// The eval report's charts (ScottPlot bar charts, saved as 640×360 PNGs). Each chart's bars have a
/// colour of their own (matplotlib's first three "tab10" colours), so a look at the rendered page can
/// tell which charts it shows.
/// </summary>
internal static class EvalCharts
{
    /// <summary>Bar colour of the groundedness histogram, #1f77b4.</summary>
    public static readonly (byte R, byte G, byte B) GroundednessColor = (0x1f, 0x77, 0xb4);

    /// <summary>Bar colour of the latency chart, #ff7f0e.</summary>
    public static readonly (byte R, byte G, byte B) LatencyColor = (0xff, 0x7f, 0x0e);

    /// <summary>Bar colour of the judge-score distribution, #2ca02c.</summary>
    public static readonly (byte R, byte G, byte B) JudgeColor = (0x2c, 0xa0, 0x2c);

    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>Ten bins of groundedness over [0, 1] (the last includes 1): answers per bin.</summary>
    public static Plot Groundedness(IEnumerable<double> groundedness)
    {
        var counts = new double[10];
        foreach (var g in groundedness)
        {
            counts[Math.Clamp((int)(g * 10), 0, 9)]++;
        }

        // Bars as wide as their bin (ScottPlot's default width is 0.8 axis units, eight bins wide here).
        var plot = Bars(Enumerable.Range(0, 10).Select(i => i / 10.0 + 0.05).ToArray(), counts, GroundednessColor, width: 0.09);
        plot.Axes.SetLimitsX(0, 1);
        plot.Title("Groundedness per answer");
        plot.XLabel("share of sentences supported by a source");
        plot.YLabel("answers");
        return plot;
    }

    /// <summary>Whole-call latency of each question, in ask order.</summary>
    public static Plot Latency(double[] latencies, double p50, double p99)
    {
        var plot = Bars(Enumerable.Range(1, latencies.Length).Select(i => (double)i).ToArray(), latencies, LatencyColor, width: 0.8);
        plot.Title(string.Create(Inv, $"Latency per question (p50 {p50:F0} ms, p99 {p99:F0} ms)"));
        plot.XLabel("question");
        plot.YLabel("whole call, ms");
        return plot;
    }

    /// <summary>How many answers the judge gave each score 1..5.</summary>
    public static Plot Judge(IEnumerable<int> scores, double mean, string judgeModel)
    {
        var counts = new double[5];
        foreach (var s in scores)
        {
            counts[Math.Clamp(s, 1, 5) - 1]++;
        }

        var plot = Bars([1, 2, 3, 4, 5], counts, JudgeColor, width: 0.8);
        plot.Axes.SetLimitsX(0.5, 5.5);
        plot.Title(string.Create(Inv, $"Judge score per answer (mean {mean:F2}, judge {judgeModel})"));
        plot.XLabel("score (1 worst, 5 best)");
        plot.YLabel("answers");
        return plot;
    }

    /// <summary>A bar chart with bars of <paramref name="width"/> axis units in <paramref name="color"/>.</summary>
    private static Plot Bars(double[] positions, double[] values, (byte R, byte G, byte B) color, double width)
    {
        var plot = new Plot();
        var bars = plot.Add.Bars(positions, values);
        bars.Color = new Color(color.R, color.G, color.B);
        foreach (var bar in bars.Bars)
        {
            bar.Size = width;
        }

        return plot;
    }
}
