using Mesh.Guard.Detectors;
using Mesh.Guard.Redaction;

namespace Mesh.Guard.Policies;

/// <summary>What a rule does when its detector fires. Ordered: the verdict is the strongest action.</summary>
public enum RuleAction
{
    Allow = 1,
    Redact = 2,
    Block = 3,
}

/// <summary>How bad a violation of a rule is, as the policy author rated it.</summary>
public enum RuleSeverity
{
    Low = 1,
    Medium = 2,
    High = 3,
    Critical = 4,
}

/// <summary>The stages a rule runs on.</summary>
[Flags]
public enum Stages
{
    None = 0,
    Input = 1,
    Output = 2,
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

/// <summary>A named policy: its rules in file order.</summary>
public sealed record Policy(string Name, string Description, IReadOnlyList<Rule> Rules);

/// <summary>Everything one load of the policy file produced. Immutable; swapped whole on reload.</summary>
public sealed record PolicySet(
    IReadOnlyDictionary<string, Policy> Policies,
    IReadOnlyDictionary<string, string> Tenants,
    string Source,
    long Version)
{
    public const string DefaultPolicy = "default";

    /// <summary>The policy a request gets: the one it names, else its tenant's, else <c>default</c>.</summary>
    public string Resolve(string requested, string tenant) =>
        requested.Length > 0 ? requested : Tenants.GetValueOrDefault(tenant, DefaultPolicy);
}
