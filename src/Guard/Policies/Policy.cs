using Mesh.Guard.Detectors;
using Mesh.Guard.Redaction;

namespace Mesh.Guard.Policies;

/// <summary>What a rule does when its detector fires. Ordered: the verdict is the strongest action.</summary>
public enum RuleAction
{
    /// <summary>Report the violation and let the text through.</summary>
    Allow = 1,
    /// <summary>Replace the violating spans and let the redacted text through.</summary>
    Redact = 2,
    /// <summary>Refuse the text.</summary>
    Block = 3,
}

/// <summary>How bad a violation of a rule is, as the policy author rated it.</summary>
public enum RuleSeverity
{
    /// <summary>Low severity.</summary>
    Low = 1,
    /// <summary>Medium severity.</summary>
    Medium = 2,
    /// <summary>High severity.</summary>
    High = 3,
    /// <summary>Critical severity.</summary>
    Critical = 4,
}

/// <summary>The stages a rule runs on.</summary>
[Flags]
public enum Stages
{
    /// <summary>No stage.</summary>
    None = 0,
    /// <summary>Prompts, before they reach a model.</summary>
    Input = 1,
    /// <summary>Model answers, before they reach the user.</summary>
    Output = 2,
    /// <summary>Prompts and answers.</summary>
    Both = Input | Output,
}

/// <summary>
/// One compiled rule: a detector, where it runs, what it does. <see cref="Redaction"/> is set when
/// the rule replaces its findings in the redacted text (every REDACT rule; a BLOCK rule only when
/// the file names an operator).
/// </summary>
public sealed record Rule(
    string Name,
    string DetectorKind,
    IDetector Detector,
    Stages Stages,
    RuleAction Action,
    RuleSeverity Severity,
    RedactionOperator? Redaction);

/// <summary>A named policy: its rules in file order and its judge rubric (null without a <c>judge</c> section).</summary>
public sealed record Policy(string Name, string Description, IReadOnlyList<Rule> Rules, JudgeRule? Judge = null);

/// <summary>Everything one load of the policy file produced. Immutable; swapped whole on reload.</summary>
public sealed record PolicySet(
    IReadOnlyDictionary<string, Policy> Policies,
    IReadOnlyDictionary<string, string> Tenants,
    string Source,
    long Version)
{
    /// <summary>The name of the policy used when neither the request nor its tenant names one.</summary>
    public const string DefaultPolicy = "default";

    /// <summary>The policy a request gets: the one it names, else its tenant's, else <c>default</c>.</summary>
    public string Resolve(string requested, string tenant) =>
        requested.Length > 0 ? requested : Tenants.GetValueOrDefault(tenant, DefaultPolicy);

    /// <summary>The policy <see cref="Resolve"/> names.</summary>
    /// <exception cref="Mesh.ServiceDefaults.Errors.ServiceException">NOT_FOUND listing the known policies when it does not exist.</exception>
    public Policy Get(string requested, string tenant)
    {
        var name = Resolve(requested, tenant);
        return Policies.TryGetValue(name, out var policy)
            ? policy
            : throw Mesh.ServiceDefaults.Errors.ServiceException.NotFound(
                $"policy '{name}' does not exist; known policies: {string.Join(", ", Policies.Keys.Order(StringComparer.Ordinal))}");
    }
}
