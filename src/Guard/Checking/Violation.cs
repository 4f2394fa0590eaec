using Mesh.Guard.Policies;

namespace Mesh.Guard.Checking;

/// <summary>A finding of one rule, with the rule's action and severity. Span in UTF-16 units.</summary>
public sealed record Violation(
    Rule Rule,
    string Category,
    string EntityType,
    int Start,
    int End,
    float Score,
    string Message,
    string JsonPointer);

/// <summary>What a check concluded.</summary>
public sealed record CheckOutcome(RuleAction Verdict, IReadOnlyList<Violation> Violations, string RedactedText);
