using Mesh.Guard.Checking;
using Mesh.Guard.Policies;
using Mesh.Guard.V1;
using Action = Mesh.Guard.V1.Action;

namespace Mesh.Guard.Services;

/// <summary>Translation between the domain model and the mesh.guard.v1 messages.</summary>
internal static class ProtoMapping
{
    public static Action ToProto(RuleAction a) => a switch
    {
        RuleAction.Allow => Action.Allow,
        RuleAction.Redact => Action.Redact,
        RuleAction.Block => Action.Block,
        _ => Action.Unspecified,
    };

    public static Severity ToProto(RuleSeverity s) => s switch
    {
        RuleSeverity.Low => Severity.Low,
        RuleSeverity.Medium => Severity.Medium,
        RuleSeverity.High => Severity.High,
        RuleSeverity.Critical => Severity.Critical,
        _ => Severity.Unspecified,
    };

    public static Stages FromProto(Stage stage) => stage switch
    {
        Stage.Input => Stages.Input,
        Stage.Output => Stages.Output,
        _ => Stages.None,
    };

    public static V1.Violation ToProto(Checking.Violation v, CodePoints positions) => ToProto(v, i => positions[i]);

    /// <param name="v">The violation, with UTF-16 positions.</param>
    /// <param name="codePointAt">Maps a UTF-16 index of the checked text to its code point index.</param>
    public static V1.Violation ToProto(Checking.Violation v, Func<int, int> codePointAt) => new()
    {
        Rule = v.Rule.Name,
        Category = v.Category,
        EntityType = v.EntityType,
        Start = codePointAt(v.Start),
        End = codePointAt(v.End),
        Score = v.Score,
        Message = v.Message,
        Action = ToProto(v.Rule.Action),
        Severity = ToProto(v.Rule.Severity),
        JsonPointer = v.JsonPointer,
    };

    public static PolicyInfo ToProto(Policy p)
    {
        var info = new PolicyInfo { Name = p.Name, Description = p.Description };
        foreach (var r in p.Rules)
        {
            var rule = new RuleInfo { Name = r.Name, Detector = r.DetectorKind, Action = ToProto(r.Action), Severity = ToProto(r.Severity) };
            if ((r.Stages & Stages.Input) != 0)
            {
                rule.Stages.Add(Stage.Input);
            }
            if ((r.Stages & Stages.Output) != 0)
            {
                rule.Stages.Add(Stage.Output);
            }
            info.Rules.Add(rule);
        }
        return info;
    }
}
