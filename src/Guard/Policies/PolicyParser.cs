using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Mesh.Guard.Detectors;
using Mesh.Guard.Detectors.Pii;
using Mesh.Guard.Detectors.Secrets;
using Mesh.Guard.Embeddings;
using Mesh.Guard.Redaction;
using Mesh.Guard.Schema;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Mesh.Guard.Policies;

/// <summary>
/// Reads a policy file (YAML, or JSON, which is YAML too) into a compiled <see cref="PolicySet"/>.
/// Works on YamlDotNet's node tree rather than binding to classes so that every problem, from a
/// syntax error to an unknown detector or a bad regex, is reported with its line and column.
/// Reference texts (known attacks, topic descriptions) are embedded here, once per distinct text
/// for the life of the process, so a reload costs only what changed.
/// </summary>
public sealed class PolicyParser(ITextEmbedder embedder)
{
    /// <summary>Policy files larger than this are refused before parsing.</summary>
    public const int MaxFileBytes = 4 * 1024 * 1024;

    // Both chosen on the development half of their evaluation sets for the best F0.5 (see
    // DetectorEvaluationTests.Similarity_threshold_sweep and src/Guard/README.md).
    /// <summary>Default cosine similarity at or above which a sentence counts as a known prompt injection.</summary>
    public const float DefaultInjectionThreshold = 0.48f;
    /// <summary>Default cosine similarity below which a text is off every allowed topic.</summary>
    public const float DefaultTopicThreshold = 0.26f;

    private static readonly string[] CommonKeys = ["name", "detector", "stages", "action", "severity", "redact", "replacement", "mask_char", "description"];

    private readonly ConcurrentDictionary<string, float[]> _referenceVectors = new(StringComparer.Ordinal);

    /// <summary>Parses policy YAML <paramref name="text"/> (<paramref name="source"/> names it in errors; <paramref name="version"/> is stored in the result) and builds every rule's detector.</summary>
    /// <exception cref="PolicyFileException">The file is too large, not YAML, or a key, value, pattern or reference is invalid; the message gives the line and column.</exception>
    public PolicySet Parse(string text, string source, long version)
    {
        var stream = new YamlStream();
        var yaml = new Parser(new StringReader(text));
        try
        {
            YamlLimits.Check(text, source);
            stream.Load(yaml);
        }
        catch (YamlException e)
        {
            throw new PolicyFileException(source, e.Start.Line, e.Start.Column, $"not valid YAML: {Unwrap(e)}", e);
        }
        catch (ArgumentException e)
        {
            // YamlDotNet's node loader throws this, without a position, for a parser event it builds no
            // node from (found by PolicyFuzzTests); the parser's current event says where it stopped.
            var at = yaml.Current?.Start;
            throw new PolicyFileException(source, Math.Max(1, at?.Line ?? 1), Math.Max(1, at?.Column ?? 1), $"not valid YAML: {e.Message}", e);
        }
        if (stream.Documents.Count != 1)
        {
            throw new PolicyFileException(source, 1, 1, $"expected exactly one YAML document, found {stream.Documents.Count}");
        }
        var file = new FileContext(source);
        var root = file.Mapping(stream.Documents[0].RootNode, "the policy file");
        file.OnlyKeys(root, "the policy file", "policies", "tenants", "hash_salt", "version");

        var salt = root.Children.TryGetValue(new YamlScalarNode("hash_salt"), out var saltNode) ? file.String(saltNode, "hash_salt") : "";

        if (!root.Children.TryGetValue(new YamlScalarNode("policies"), out var policiesNode))
        {
            throw file.Error(root, "missing 'policies': a mapping of policy name to policy");
        }
        var policies = new Dictionary<string, Policy>(StringComparer.Ordinal);
        foreach (var (keyNode, policyNode) in file.Mapping(policiesNode, "'policies'").Children)
        {
            var name = file.String(keyNode, "policy name");
            if (!IsName(name))
            {
                throw file.Error(keyNode, $"policy name '{name}' must be letters, digits, '-', '_' or '.'");
            }
            policies[name] = ParsePolicy(file, name, policyNode, salt);
        }
        if (policies.Count == 0)
        {
            throw file.Error(policiesNode, "'policies' is empty: define at least one policy");
        }

        var tenants = new Dictionary<string, string>(StringComparer.Ordinal);
        if (root.Children.TryGetValue(new YamlScalarNode("tenants"), out var tenantsNode))
        {
            foreach (var (tenantNode, policyNameNode) in file.Mapping(tenantsNode, "'tenants'").Children)
            {
                var policyName = file.String(policyNameNode, "tenant policy");
                if (!policies.ContainsKey(policyName))
                {
                    throw file.Error(policyNameNode, $"tenant '{file.String(tenantNode, "tenant")}' maps to unknown policy '{policyName}'; defined: {string.Join(", ", policies.Keys)}");
                }
                tenants[file.String(tenantNode, "tenant")] = policyName;
            }
        }
        return new PolicySet(policies, tenants, source, version);
    }

    private Policy ParsePolicy(FileContext file, string name, YamlNode node, string salt)
    {
        var map = file.Mapping(node, $"policy '{name}'");
        file.OnlyKeys(map, $"policy '{name}'", "description", "rules", "judge");
        var description = map.Children.TryGetValue(new YamlScalarNode("description"), out var d) ? file.String(d, "description") : "";
        if (!map.Children.TryGetValue(new YamlScalarNode("rules"), out var rulesNode) || rulesNode is not YamlSequenceNode rules)
        {
            throw file.Error(map, $"policy '{name}' needs 'rules': a list of rules");
        }
        var compiled = new List<Rule>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var ruleNode in rules.Children)
        {
            var rule = ParseRule(file, ruleNode, salt);
            if (!names.Add(rule.Name))
            {
                throw file.Error(ruleNode, $"policy '{name}' has two rules named '{rule.Name}'");
            }
            compiled.Add(rule);
        }
        var judge = file.Optional(map, "judge") is { } judgeNode ? JudgeRuleParser.Parse(file, judgeNode, name) : null;
        return new Policy(name, description, compiled, judge);
    }

    private Rule ParseRule(FileContext file, YamlNode node, string salt)
    {
        var map = file.Mapping(node, "a rule");
        var name = file.String(file.Required(map, "name", "a rule"), "name");
        var what = $"rule '{name}'";
        var kindNode = file.Required(map, "detector", what);
        var kind = file.String(kindNode, "detector");
        if (!DetectorRegistry.Kinds.TryGetValue(kind, out var detectorKind))
        {
            throw file.Error(kindNode, $"{what}: unknown detector '{kind}'; known: {string.Join(", ", DetectorRegistry.Kinds.Keys)}");
        }
        file.OnlyKeys(map, what, [.. CommonKeys, .. detectorKind.Keys]);

        var action = file.Enum(file.Required(map, "action", what), "action", new Dictionary<string, RuleAction>
        {
            ["allow"] = RuleAction.Allow, ["redact"] = RuleAction.Redact, ["block"] = RuleAction.Block,
        });
        var severity = file.Optional(map, "severity") is { } sev
            ? file.Enum(sev, "severity", new Dictionary<string, RuleSeverity>
            {
                ["low"] = RuleSeverity.Low, ["medium"] = RuleSeverity.Medium, ["high"] = RuleSeverity.High, ["critical"] = RuleSeverity.Critical,
            })
            : RuleSeverity.Medium;
        var stages = ParseStages(file, file.Optional(map, "stages"));

        RedactionOperator? redaction = null;
        if (file.Optional(map, "redact") is { } opNode)
        {
            redaction = file.String(opNode, "redact") switch
            {
                "replace" => new ReplaceOperator(file.Optional(map, "replacement") is { } r ? file.String(r, "replacement") : "<{entity}>"),
                "mask" => new MaskOperator(file.Optional(map, "mask_char") is { } mc ? file.Char(mc, "mask_char") : '*'),
                "hash" => new HashOperator(salt),
                var other => throw file.Error(opNode, $"{what}: unknown redaction operator '{other}'; use replace, mask or hash"),
            };
        }
        else if (action == RuleAction.Redact)
        {
            redaction = new ReplaceOperator(file.Optional(map, "replacement") is { } r ? file.String(r, "replacement") : "<{entity}>");
        }

        var detector = detectorKind.Build(new DetectorBuildContext(file, map, what, EmbedReferences));
        return new Rule(name, kind, detector, stages, action, severity, redaction);
    }

    private static Stages ParseStages(FileContext file, YamlNode? node)
    {
        if (node is null)
        {
            return Stages.Both;
        }
        var values = node is YamlSequenceNode seq ? seq.Children : [node];
        var stages = Stages.None;
        foreach (var v in values)
        {
            stages |= file.String(v, "stages") switch
            {
                "input" => Stages.Input,
                "output" => Stages.Output,
                "both" => Stages.Both,
                var other => throw file.Error(v, $"unknown stage '{other}'; use input, output or both"),
            };
        }
        return stages == Stages.None ? throw file.Error(node, "'stages' is empty") : stages;
    }

    private float[][] EmbedReferences(IReadOnlyList<string> texts)
    {
        var missing = texts.Where(t => !_referenceVectors.ContainsKey(t)).Distinct().ToArray();
        if (missing.Length > 0)
        {
            var vectors = embedder.Embed(missing);
            for (var i = 0; i < missing.Length; i++)
            {
                _referenceVectors[missing[i]] = vectors[i];
            }
        }
        return texts.Select(t => _referenceVectors[t]).ToArray();
    }

    private static bool IsName(string s) => s.Length is > 0 and <= 128 && s.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.');

    private static string Unwrap(Exception e) => e.InnerException is { } inner && inner is not YamlException ? $"{e.Message} ({inner.Message})" : e.Message;
}
