using Mesh.Guard.V1;
using Xunit.Abstractions;

namespace Mesh.Guard.Tests;

/// <summary>
/// Entity-level scoring of a span-labelled set through the real service: a prediction is a true
/// positive when a labelled entity of the same type overlaps it; a labelled entity is found when
/// some prediction of its type overlaps it. Scores per entity type and under "ALL".
/// </summary>
public static class SpanScoring
{
    public static async Task<Dictionary<string, Score>> ScoreAsync(
        GuardServer server, IReadOnlyList<LabelledExample> examples, string policy, Stage stage, ITestOutputHelper output, string label = "")
    {
        var responses = await EvaluationSet.MapAsync(examples, e => server.CheckAsync(e.Text, stage, policy));
        var counts = new Dictionary<string, (int TpPred, int Pred, int Found, int Actual)>();
        void Add(string type, int tpPred, int pred, int found, int actual)
        {
            foreach (var key in new[] { type, "ALL" })
            {
                var c = counts.GetValueOrDefault(key);
                counts[key] = (c.TpPred + tpPred, c.Pred + pred, c.Found + found, c.Actual + actual);
            }
        }
        for (var i = 0; i < examples.Count; i++)
        {
            var gold = examples[i].Entities ?? [];
            var predicted = responses[i].Violations;
            foreach (var p in predicted)
            {
                var hit = gold.Any(g => g.Type == p.EntityType && g.Start < p.End && p.Start < g.End);
                Add(p.EntityType, hit ? 1 : 0, 1, 0, 0);
                if (!hit)
                {
                    output.WriteLine($"  FP #{examples[i].Id} [{examples[i].Kind}] {p.EntityType} '{Slice(examples[i].Text, p.Start, p.End)}' in: {examples[i].Text}");
                }
            }
            foreach (var g in gold)
            {
                var found = predicted.Any(p => p.EntityType == g.Type && g.Start < p.End && p.Start < g.End);
                Add(g.Type, 0, 0, found ? 1 : 0, 1);
                if (!found)
                {
                    output.WriteLine($"  FN #{examples[i].Id} [{examples[i].Kind}] {g.Type} '{Slice(examples[i].Text, g.Start, g.End)}' in: {examples[i].Text}");
                }
            }
        }
        var scores = new Dictionary<string, Score>();
        foreach (var (type, c) in counts.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            scores[type] = new Score(c.TpPred, c.Pred, c.Found, c.Actual);
            output.WriteLine($"{policy,-10} {label,-9} {type,-20} {scores[type]}");
        }
        return scores;
    }

    /// <summary>The held-out half of a set: even ids (the odd ids were looked at while writing the recognizers).</summary>
    public static IReadOnlyList<LabelledExample> HeldOut(IReadOnlyList<LabelledExample> examples) => examples.Where(e => e.Id % 2 == 0).ToList();

    private static string Slice(string text, int start, int end)
    {
        var runes = text.EnumerateRunes().ToArray();
        return string.Concat(runes.Skip(start).Take(end - start).Select(r => r.ToString()));
    }
}
