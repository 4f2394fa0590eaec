using Mesh.Guard.V1;
using Xunit.Abstractions;

namespace Mesh.Guard.Tests;

/// <summary>
/// Measures every detector on its labelled evaluation set, through the real service, and holds
/// precision and recall above the thresholds stated in src/Guard/README.md. The thresholds sit a
/// little under the measured values so that a change that makes a detector worse fails here.
/// </summary>
[Collection(GuardCollection.Name)]
public sealed class DetectorEvaluationTests(TestPolicyServer tests, ITestOutputHelper output)
{
    [Fact]
    public async Task Pii_detector_precision_and_recall_per_entity()
    {
        var scores = await ScoreSpans("pii-eval.jsonl", "pii", Stage.Input);
        Assert.True(scores["ALL"].Precision >= 0.97, $"PII precision {scores["ALL"]}");
        Assert.True(scores["ALL"].Recall >= 0.93, $"PII recall {scores["ALL"]}");
        foreach (var (entity, score) in scores)
        {
            Assert.True(score.Precision >= 0.85 && score.Recall >= 0.80, $"{entity}: {score}");
        }
    }

    [Fact]
    public async Task Secrets_detector_precision_and_recall()
    {
        var scores = await ScoreSpans("secrets-eval.jsonl", "secrets", Stage.Output);
        Assert.True(scores["ALL"].Precision >= 0.95, $"secrets {scores["ALL"]}");
        Assert.True(scores["ALL"].Recall >= 0.95, $"secrets {scores["ALL"]}");
    }

    [Fact]
    public async Task Prompt_injection_detector_precision_and_recall()
    {
        var examples = EvaluationSet.Load("injection-eval.jsonl");
        Assert.True(examples.Count >= 200);
        var combined = await ScoreVerdicts(examples, "injection", Stage.Input);
        var patterns = await ScoreVerdicts(examples, "injection-patterns", Stage.Input);
        var similarity = await ScoreVerdicts(examples, "injection-similarity", Stage.Input);
        output.WriteLine($"injection rules only:      {patterns}");
        output.WriteLine($"injection similarity only: {similarity}");
        output.WriteLine($"injection combined:        {combined}");

        // Issue 20 measured 0.866 / 0.710 before the sentence-level framing and 0.887 / 0.710 after; recall may not fall.
        Assert.True(combined.Precision >= 0.87, $"combined {combined}");
        Assert.True(combined.Recall >= 0.71, $"combined {combined}");
        // The scored detector earns its cost only if it adds recall over the rules.
        Assert.True(combined.Recall > patterns.Recall, $"similarity adds nothing: {patterns} vs {combined}");
    }

    /// <summary>
    /// How the similarity thresholds were chosen, reproducibly: sweep on the odd-numbered examples
    /// (the development half) for the best F0.5 (precision weighs double, since the default action
    /// is to block), and report the even-numbered half (held out) at that threshold next to the
    /// shipped default, which must be the development optimum.
    /// </summary>
    [Theory]
    [InlineData("injection-eval.jsonl", "injection-scores", Stage.Input, Mesh.Guard.Policies.PolicyParser.DefaultInjectionThreshold)]
    [InlineData("topic-eval.jsonl", "topics-scores", Stage.Output, Mesh.Guard.Policies.PolicyParser.DefaultTopicThreshold)]
    public async Task Similarity_threshold_sweep(string file, string scoringPolicy, Stage stage, float shipped)
    {
        var examples = EvaluationSet.Load(file);
        var responses = await EvaluationSet.MapAsync(examples, e => tests.Server.CheckAsync(e.Text, stage, scoringPolicy));
        var scored = examples.Select((e, i) => (e.Id, e.Label, Score: responses[i].Violations.Select(v => v.Score).DefaultIfEmpty(0f).Max())).ToList();
        Score At(float t, IEnumerable<(int Id, int Label, float Score)> set)
        {
            var list = set.ToList();
            var tp = list.Count(x => x.Score >= t && x.Label == 1);
            return new Score(tp, list.Count(x => x.Score >= t), tp, list.Count(x => x.Label == 1));
        }
        static double F05(Score s) => s.Precision + s.Recall == 0 ? 0 : 1.25 * s.Precision * s.Recall / (0.25 * s.Precision + s.Recall);
        var dev = scored.Where(x => x.Id % 2 == 1).ToList();
        var heldOut = scored.Where(x => x.Id % 2 == 0).ToList();
        var best = 0f;
        for (var k = 10; k <= 40; k++)
        {
            var t = k / 50f;
            output.WriteLine($"threshold {t:F2}: dev {At(t, dev)} | held-out {At(t, heldOut)}");
            if (F05(At(t, dev)) > F05(At(best, dev)))
            {
                best = t;
            }
        }
        output.WriteLine($"best on dev: {best:F2}; held-out at it: {At(best, heldOut)}");
        output.WriteLine($"shipped default {shipped:F2}: held-out {At(shipped, heldOut)}, all {At(shipped, scored)}");
        Assert.True(Math.Abs(best - shipped) <= 0.021f, $"the shipped threshold {shipped} is not the dev-set optimum {best}");
    }

    [Fact]
    public async Task Topic_detector_precision_and_recall()
    {
        var examples = EvaluationSet.Load("topic-eval.jsonl");
        var score = await ScoreVerdicts(examples, "topics", Stage.Output);
        output.WriteLine($"denied topics: {score}");
        Assert.True(score.Precision >= 0.85, $"topics {score}");
        Assert.True(score.Recall >= 0.75, $"topics {score}");
    }

    private async Task<Score> ScoreVerdicts(IReadOnlyList<LabelledExample> examples, string policy, Stage stage)
    {
        var verdicts = await EvaluationSet.MapAsync(examples, e => tests.Server.CheckAsync(e.Text, stage, policy));
        var tp = 0;
        var predicted = 0;
        for (var i = 0; i < examples.Count; i++)
        {
            var flagged = verdicts[i].Verdict == V1.Action.Block;
            predicted += flagged ? 1 : 0;
            tp += flagged && examples[i].Label == 1 ? 1 : 0;
            if (flagged != (examples[i].Label == 1))
            {
                output.WriteLine($"  {policy} {(flagged ? "FP" : "FN")} #{examples[i].Id} [{examples[i].Kind}] {examples[i].Text}");
            }
        }
        return new Score(tp, predicted, tp, examples.Count(e => e.Label == 1));
    }

    private Task<Dictionary<string, Score>> ScoreSpans(string file, string policy, Stage stage) =>
        SpanScoring.ScoreAsync(tests.Server, EvaluationSet.Load(file), policy, stage, output);
}
