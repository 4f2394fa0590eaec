using System.Diagnostics;
using Mesh.Guard.Detectors;
using Mesh.Guard.Embeddings;
using Mesh.Guard.Policies;
using Mesh.Guard.Redaction;
using Mesh.Guard.Schema;
using Mesh.Guard.Telemetry;

namespace Mesh.Guard.Checking;

/// <summary>
/// Runs a policy's rules for one stage over a text and turns their findings into a verdict, the
/// list of violations and the redacted text. The one code path behind Check, the final message of
/// CheckStream and the evaluation tests; <see cref="StartStream"/> begins a streamed check.
/// </summary>
public sealed class PolicyEvaluator(ITextEmbedder embedder, GuardTelemetry telemetry)
{
    // A schema sent with a request applies even when the policy has no json_schema rule for it.
    private static readonly Rule RequestSchemaRule = new("request_schema", "json_schema", new JsonSchemaDetector(null),
        Stages.Output, RuleAction.Block, RuleSeverity.High, null);

    /// <summary>Runs the rules of <paramref name="policy"/> that apply to <paramref name="stage"/> on the whole <paramref name="text"/>: the violations found (positions in UTF-16 units) and the verdict, the strongest action among them; <paramref name="requestSchema"/> adds a blocking JSON Schema rule for outputs, <paramref name="embeddingCache"/> (segment text to vector) is reused across calls when given.</summary>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public CheckOutcome Evaluate(
        Policy policy,
        Stages stage,
        string text,
        CompiledSchema? requestSchema = null,
        Dictionary<string, float[]>? embeddingCache = null,
        CancellationToken cancellationToken = default)
    {
        var started = Stopwatch.GetTimestamp();
        var context = new DetectionContext(text, embedder, isPartial: false, requestSchema, embeddingCache, cancellationToken);
        var rules = RulesFor(policy, stage, requestSchema);
        var violations = new List<Violation>();
        foreach (var rule in rules)
        {
            cancellationToken.ThrowIfCancellationRequested();
            violations.AddRange(rule.Detector.Detect(context).Select(f => ToViolation(rule, f)));
        }
        SortInTextOrder(violations, rules);

        var verdict = violations.Count == 0 ? RuleAction.Allow : violations.Max(v => v.Rule.Action);
        var redactions = violations.Where(v => v.Rule.Redaction is not null)
            .Select(v => new Redactor.Redaction(v.Start, v.End, v.EntityType, v.Rule.Redaction!, (int)v.Rule.Action * 10 + (int)v.Rule.Severity))
            .ToList();
        var redacted = Redactor.Apply(text, redactions);

        var elapsed = Stopwatch.GetElapsedTime(started).TotalSeconds;
        var stageTag = stage == Stages.Input ? "input" : "output";
        telemetry.CheckDuration.Record(elapsed, new("policy", policy.Name), new("stage", stageTag));
        telemetry.Checks.Add(1, new("policy", policy.Name), new("stage", stageTag), new("verdict", verdict.ToString().ToLowerInvariant()));
        foreach (var v in violations)
        {
            telemetry.Violations.Add(1, new("policy", policy.Name), new("rule", v.Rule.Name), new("category", v.Category));
        }
        return new CheckOutcome(verdict, violations, redacted);
    }

    /// <summary>Begins a streamed check of the same rules (see <see cref="StreamingCheck"/>).</summary>
    public StreamingCheck StartStream(Policy policy, Stages stage, CompiledSchema? requestSchema, CancellationToken cancellationToken = default) =>
        new(embedder, RulesFor(policy, stage, requestSchema), requestSchema, cancellationToken);

    /// <summary>The rules that run on a stage, in file order, plus the request's schema rule where it applies.</summary>
    public static List<Rule> RulesFor(Policy policy, Stages stage, CompiledSchema? requestSchema)
    {
        var rules = policy.Rules.Where(r => (r.Stages & stage) != 0).ToList();
        if (requestSchema is not null && stage == Stages.Output && !rules.Any(r => r.Detector is JsonSchemaDetector { UsesRequestSchema: true }))
        {
            rules.Add(RequestSchemaRule);
        }
        return rules;
    }

    /// <summary>The violation <paramref name="rule"/> reports for detector finding <paramref name="f"/> (same UTF-16 span, score and message).</summary>
    public static Violation ToViolation(Rule rule, Finding f) =>
        new(rule, rule.Detector.Category, f.EntityType, f.Start, f.End, f.Score, f.Message, f.JsonPointer);

    /// <summary>By start, then by the rules' order in the policy.</summary>
    public static void SortInTextOrder(List<Violation> violations, IReadOnlyList<Rule> rules)
    {
        var order = new Dictionary<Rule, int>();
        foreach (var rule in rules)
        {
            order.TryAdd(rule, order.Count);
        }
        violations.Sort((a, b) => a.Start != b.Start ? a.Start.CompareTo(b.Start) : order[a.Rule].CompareTo(order[b.Rule]));
    }
}
