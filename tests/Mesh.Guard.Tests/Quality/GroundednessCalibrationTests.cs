using Mesh.Guard.Quality;
using Xunit.Abstractions;

namespace Mesh.Guard.Tests.Quality;

/// <summary>
/// Groundedness on the labelled retailer set (demo/retail/eval/groundedness.jsonl: 167 pairs of retrieved
/// sources and one answer sentence, labelled supported or not). The threshold is calibrated on the
/// calibration half only; precision and recall of "unsupported" are measured on the held-out half
/// with the threshold Guard ships (issue 18: both ≥ 0.8).
/// </summary>
public sealed class GroundednessCalibrationTests(ITestOutputHelper output)
{
    private sealed record Pair(string Id, string Split, string[] Sources, string Sentence, bool Supported, float Similarity);

    [Fact]
    public void Shipped_threshold_is_the_calibrated_one_and_holds_on_the_held_out_half()
    {
        var pairs = Score();
        var calibration = pairs.Where(p => p.Split == "calibration").ToList();
        var heldOut = pairs.Where(p => p.Split == "heldout").ToList();
        Assert.True(pairs.Count >= 100, $"{pairs.Count} labelled pairs");
        Assert.InRange(calibration.Count, heldOut.Count - 1, heldOut.Count + 1);
        Assert.Contains(heldOut, p => p.Supported);
        Assert.Contains(heldOut, p => !p.Supported);

        var calibrated = Calibrate(calibration);
        var shipped = new QualityOptions().GroundednessThreshold;
        var (cp, cr) = Unsupported(calibration, shipped);
        var (hp, hr) = Unsupported(heldOut, shipped);
        output.WriteLine($"calibrated threshold {calibrated:F3}, shipped {shipped:F2}");
        output.WriteLine($"calibration half ({calibration.Count}): unsupported precision {cp:F3}, recall {cr:F3}");
        output.WriteLine($"held-out half ({heldOut.Count}): unsupported precision {hp:F3}, recall {hr:F3}");
        foreach (var p in heldOut.Where(p => p.Supported != p.Similarity >= shipped))
        {
            output.WriteLine($"  miss {p.Id} supported={p.Supported} sim={p.Similarity:F3}: {p.Sentence}");
        }

        Assert.InRange(shipped, calibrated - 0.01f, calibrated + 0.01f);
        Assert.True(hp >= 0.8, $"held-out precision of unsupported {hp:F3}");
        Assert.True(hr >= 0.8, $"held-out recall of unsupported {hr:F3}");
    }

    [Fact]
    public void Sentences_drop_citation_marks_and_fragments()
    {
        var sentences = Groundedness.Sentences("Yes. The Ridge 2 Tent weighs 1.6 kg [1]. It costs $279 [1, 2]!\nSure", 3);
        Assert.Equal(["The Ridge 2 Tent weighs 1.6 kg.", "It costs $279!"], sentences);
    }

    private static List<Pair> Score()
    {
        var documents = RetailData.Documents();
        var groundedness = new Groundedness(new EmbeddingCache(RetailData.Embedder, 4096), RetailData.Embedder);
        var lines = RetailData.Lines("eval/groundedness.jsonl").ToList();
        // Two large batches instead of one small one per pair: every source sentence into the cache, then every answer sentence.
        groundedness.Score([], [.. documents.Values], [], default);
        var vectors = RetailData.Embedder.Embed([.. lines.Select(l => l.GetProperty("sentence").GetString()!)]);
        var pairs = new List<Pair>();
        foreach (var (line, vector) in lines.Zip(vectors))
        {
            var sources = line.GetProperty("sources").EnumerateArray().Select(s => s.GetString()!).ToArray();
            var sentence = line.GetProperty("sentence").GetString()!;
            var support = groundedness.Score([sentence], [.. sources.Select(id => documents[id])], [vector], default);
            pairs.Add(new Pair(line.GetProperty("id").GetString()!, line.GetProperty("split").GetString()!, sources, sentence,
                line.GetProperty("supported").GetBoolean(), support[0].Similarity));
        }

        return pairs;
    }

    /// <summary>The threshold with the best F1 of "unsupported" (similarity below it) on <paramref name="pairs"/>: midpoints between sorted similarities.</summary>
    private static float Calibrate(IReadOnlyList<Pair> pairs)
    {
        var sorted = pairs.Select(p => p.Similarity).Order().ToArray();
        var (best, bestF1) = (sorted[0], -1.0);
        for (var i = 1; i < sorted.Length; i++)
        {
            var t = (sorted[i - 1] + sorted[i]) / 2;
            var (p, r) = Unsupported(pairs, t);
            var f1 = p + r == 0 ? 0 : 2 * p * r / (p + r);
            if (f1 > bestF1)
            {
                (best, bestF1) = (t, f1);
            }
        }

        return best;
    }

    private static (double Precision, double Recall) Unsupported(IReadOnlyList<Pair> pairs, float threshold)
    {
        var predicted = pairs.Where(p => p.Similarity < threshold).ToList();
        var correct = predicted.Count(p => !p.Supported);
        var actual = pairs.Count(p => !p.Supported);
        return (predicted.Count == 0 ? 1 : (double)correct / predicted.Count, actual == 0 ? 1 : (double)correct / actual);
    }
}
