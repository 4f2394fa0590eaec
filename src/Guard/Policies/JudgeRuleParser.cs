using YamlDotNet.RepresentationModel;

namespace Mesh.Guard.Policies;

/// <summary>
/// Reads a policy's <c>judge: {rubric, min_score, action}</c> section; every error carries the
/// line and column (through <see cref="FileContext"/>).
/// </summary>
internal static class JudgeRuleParser
{
    /// <summary>The judge rule of policy <paramref name="policy"/> from <paramref name="node"/>.</summary>
    /// <exception cref="PolicyFileException">Not a mapping, an unknown key, no rubric, a rubric over <see cref="JudgeRule.MaxRubricChars"/>, a min_score outside 1..5, an unknown action, or an action without min_score.</exception>
    public static JudgeRule Parse(FileContext file, YamlNode node, string policy)
    {
        var what = $"policy '{policy}' judge";
        var map = file.Mapping(node, what);
        file.OnlyKeys(map, what, "rubric", "min_score", "action");
        var rubricNode = file.Required(map, "rubric", what);
        var rubric = file.String(rubricNode, "rubric").Trim();
        if (rubric.Length is 0 or > JudgeRule.MaxRubricChars)
        {
            throw file.Error(rubricNode, $"{what}: 'rubric' must be 1 to {JudgeRule.MaxRubricChars} characters (what a good answer is), got {rubric.Length}");
        }

        int? minScore = file.Optional(map, "min_score") is { } m ? file.Int(m, "min_score", 1, 5) : null;
        var actionNode = file.Optional(map, "action");
        if (actionNode is not null && minScore is null)
        {
            throw file.Error(actionNode, $"{what}: 'action' applies below 'min_score'; set min_score (1..5) or remove action");
        }

        var action = actionNode is null
            ? JudgeMinimumAction.Flag
            : file.Enum(actionNode, "action", new Dictionary<string, JudgeMinimumAction>
            {
                ["flag"] = JudgeMinimumAction.Flag, ["block"] = JudgeMinimumAction.Block,
            });
        return new JudgeRule(rubric, minScore, action);
    }
}
