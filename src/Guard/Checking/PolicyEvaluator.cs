using System.Diagnostics;
using Mesh.Guard.Schema;
using Mesh.Guard.Detectors;
using Mesh.Guard.Embeddings;
using Mesh.Guard.Policies;
using Mesh.Guard.Redaction;
using Mesh.Guard.Telemetry;

namespace Mesh.Guard.Checking;

/// <summary>
/// Runs a policy's rules for one stage over a text and turns their findings into a verdict, the
/// list of violations and the redacted text. The one code path behind Check, CheckStream and the
/// evaluation tests.
/// </summary>
public sealed class PolicyEvaluator(ITextEmbedder embedder, GuardTelemetry telemetry)
{
    // A schema sent with a request applies even when the policy has no json_schema rule for it.
    private static readonly Rule RequestSchemaRule = new("request_schema", "json_schema", new JsonSchemaDetector(null),
        Stages.Output, RuleAction.Block, RuleSeverity.High, null);

    public CheckOutcome Evaluate(
        Policy policy,
        Stages stage,
        string text,
        CompiledSchema? requestSchema = null,
        bool isPartial = false,
        Dictionary<string, float[]>? embeddingCache = null,
        CancellationToken cancellationToken = default)
    {
        var started = Stopwatch.GetTimestamp();
        var context = new DetectionContext(text, embedder, isPartial, requestSchema, embeddingCache, cancellationToken);
        var rules = policy.Rules.Where(r => (r.Stages & stage) != 0).ToList();
        if (requestSchema is not null && stage == Stages.Output
            && !rules.Any(IsRequestSchemaRule))
        {
            rules.Add(RequestSchemaRule);
        }

        var violations = new List<Violation>();
        var order = new Dictionary<Rule, int>();
        foreach (var rule in rules)
        {
            cancellationToken.ThrowIfCancellationRequested();
            order[rule] = order.Count;
            foreach (var f in rule.Detector.Detect(context))
            {
                // While a streamed text is still arriving, a span that touches its end may yet grow
                // (half an e-mail address); it is reported once the next chunk settles it.
                if (isPartial && f.End >= text.Length && rule.Detector is PatternDetector or RegexDetector or KeywordDetector)
                {
                    continue;
                }
                violations.Add(new Violation(rule, rule.Detector.Category, f.EntityType, f.Start, f.End, f.Score, f.Message, f.JsonPointer));
            }
        }
        violations.Sort((a, b) => a.Start != b.Start ? a.Start.CompareTo(b.Start) : order[a.Rule].CompareTo(order[b.Rule]));

        var verdict = violations.Count == 0 ? RuleAction.Allow : violations.Max(v => v.Rule.Action);
        var redactions = violations.Where(v => v.Rule.Redaction is not null)
            .Select(v => new Redactor.Redaction(v.Start, v.End, v.EntityType, v.Rule.Redaction!, (int)v.Rule.Action * 10 + (int)v.Rule.Severity))
            .ToList();
        var redacted = Redactor.Apply(text, redactions);

        if (!isPartial)
        {
            var elapsed = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            var stageTag = stage == Stages.Input ? "input" : "output";
            telemetry.CheckDuration.Record(elapsed, new("policy", policy.Name), new("stage", stageTag));
            telemetry.Checks.Add(1, new("policy", policy.Name), new("stage", stageTag), new("verdict", verdict.ToString().ToLowerInvariant()));
            foreach (var v in violations)
            {
                telemetry.Violations.Add(1, new("policy", policy.Name), new("rule", v.Rule.Name), new("category", v.Category));
            }
        }
        return new CheckOutcome(verdict, violations, redacted);
    }

    private static bool IsRequestSchemaRule(Rule rule) => rule.Detector is JsonSchemaDetector { UsesRequestSchema: true };
}
