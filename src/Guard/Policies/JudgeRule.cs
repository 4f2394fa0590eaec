namespace Mesh.Guard.Policies;

/// <summary>What to do with an answer the judge scores below a policy's minimum.</summary>
public enum JudgeMinimumAction
{
    /// <summary>Let the answer through, marked.</summary>
    Flag = 1,
    /// <summary>Do not show the answer.</summary>
    Block = 2,
}

/// <summary>
/// A policy's <c>judge</c> section: the rubric the judge model grades answers against (1 worst to 5
/// best) and, optionally, the lowest acceptable score with the action below it.
/// </summary>
/// <param name="Rubric">What a good answer is, in the policy author's words (shown to the judge).</param>
/// <param name="MinScore">Lowest acceptable score, 1..5; null when the policy sets none.</param>
/// <param name="Action">What the caller should do below <paramref name="MinScore"/>.</param>
public sealed record JudgeRule(string Rubric, int? MinScore, JudgeMinimumAction Action)
{
    /// <summary>Most characters a rubric may have (a judge prompt must fit the judge's context).</summary>
    public const int MaxRubricChars = 4000;

    /// <summary>The rubric of a policy without a <c>judge</c> section: no minimum.</summary>
    public static readonly JudgeRule Default = new(
        "The answer responds to the question, every claim in it is supported by the sources, and it is clear and concise.",
        null, JudgeMinimumAction.Flag);
}
