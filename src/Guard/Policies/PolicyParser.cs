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
    public const float DefaultInjectionThreshold = 0.48f;
    public const float DefaultTopicThreshold = 0.26f;

    private static readonly string[] CommonKeys = ["name", "detector", "stages", "action", "severity", "redact", "replacement", "mask_char", "description"];

    private static readonly Dictionary<string, string[]> DetectorKeys = new(StringComparer.Ordinal)
    {
        ["pii"] = ["entities"],
        ["secrets"] = ["entities"],
        ["prompt_injection"] = ["threshold", "use_patterns", "use_similarity", "known_attacks"],
        ["topic"] = ["denied_topics", "allowed_topics", "threshold", "allowed_threshold"],
        ["regex"] = ["patterns", "case_sensitive"],
        ["keyword"] = ["keywords", "case_sensitive"],
        ["length"] = ["max_chars"],
        ["json_schema"] = ["schema"],
    };

    private readonly ConcurrentDictionary<string, float[]> _referenceVectors = new(StringComparer.Ordinal);

    public PolicySet Parse(string text, string source, long version)
    {
        var stream = new YamlStream();
        try
        {
            YamlLimits.Check(text, source);
            stream.Load(new StringReader(text));
        }
        catch (YamlException e)
        {
            throw new PolicyFileException(source, e.Start.Line, e.Start.Column, $"not valid YAML: {Unwrap(e)}", e);
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
        file.OnlyKeys(map, $"policy '{name}'", "description", "rules");
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
        return new Policy(name, description, compiled);
    }

    private Rule ParseRule(FileContext file, YamlNode node, string salt)
    {
        var map = file.Mapping(node, "a rule");
        var name = file.String(file.Required(map, "name", "a rule"), "name");
        var what = $"rule '{name}'";
        var kindNode = file.Required(map, "detector", what);
        var kind = file.String(kindNode, "detector");
        if (!DetectorKeys.TryGetValue(kind, out var specific))
        {
            throw file.Error(kindNode, $"{what}: unknown detector '{kind}'; known: {string.Join(", ", DetectorKeys.Keys)}");
        }
        file.OnlyKeys(map, what, [.. CommonKeys, .. specific]);

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

        IDetector detector = kind switch
        {
            "pii" => new PatternDetector("pii", Entities(file, map, what, PiiRecognizers.All).Select(PiiRecognizers.Create).ToArray()),
            "secrets" => new PatternDetector("secret", SecretRecognizers.All.Where(r =>
                Entities(file, map, what, SecretRecognizers.All.Select(s => s.EntityType).ToArray()).Contains(r.EntityType)).ToArray()),
            "prompt_injection" => BuildInjection(file, map, what),
            "topic" => BuildTopic(file, map, what),
            "regex" => BuildRegex(file, map, what),
            "keyword" => BuildKeywords(file, map, what),
            "length" => new LengthDetector(file.Int(file.Required(map, "max_chars", what), "max_chars", 1, int.MaxValue)),
            "json_schema" => BuildSchema(file, map),
            _ => throw new InvalidOperationException($"detector '{kind}' has keys but no builder"),
        };
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

    private static List<string> Entities(FileContext file, YamlMappingNode map, string what, IReadOnlyList<string> known)
    {
        if (file.Optional(map, "entities") is not { } node)
        {
            return [.. known];
        }
        var list = new List<string>();
        foreach (var e in file.Sequence(node, "entities"))
        {
            var entity = file.String(e, "entity");
            if (!known.Contains(entity))
            {
                throw file.Error(e, $"{what}: unknown entity '{entity}'; known: {string.Join(", ", known)}");
            }
            list.Add(entity);
        }
        return list;
    }

    private PromptInjectionDetector BuildInjection(FileContext file, YamlMappingNode map, string what)
    {
        var threshold = file.Optional(map, "threshold") is { } t ? file.Float(t, "threshold", 0, 1) : DefaultInjectionThreshold;
        var usePatterns = file.Optional(map, "use_patterns") is not { } p || file.Bool(p, "use_patterns");
        var useSimilarity = file.Optional(map, "use_similarity") is not { } s || file.Bool(s, "use_similarity");
        if (!usePatterns && !useSimilarity)
        {
            throw file.Error(map, $"{what}: use_patterns and use_similarity are both false; the rule would never fire");
        }
        var attacks = KnownAttacks.All.ToList();
        if (file.Optional(map, "known_attacks") is { } extra)
        {
            attacks.AddRange(file.Sequence(extra, "known_attacks").Select(n => file.String(n, "known attack")));
        }
        return new PromptInjectionDetector(useSimilarity ? EmbedReferences(attacks) : [], threshold, usePatterns);
    }

    private TopicDetector BuildTopic(FileContext file, YamlMappingNode map, string what)
    {
        var denied = file.Optional(map, "denied_topics") is { } dn ? file.Sequence(dn, "denied_topics").Select(n => file.String(n, "topic")).ToList() : [];
        var allowed = file.Optional(map, "allowed_topics") is { } an ? file.Sequence(an, "allowed_topics").Select(n => file.String(n, "topic")).ToList() : [];
        if (denied.Count + allowed.Count == 0)
        {
            throw file.Error(map, $"{what}: a topic rule needs denied_topics, allowed_topics or both");
        }
        var threshold = file.Optional(map, "threshold") is { } t ? file.Float(t, "threshold", 0, 1) : DefaultTopicThreshold;
        var allowedThreshold = file.Optional(map, "allowed_threshold") is { } at ? file.Float(at, "allowed_threshold", 0, 1) : threshold;
        var dv = EmbedReferences(denied);
        var av = EmbedReferences(allowed);
        return new TopicDetector(denied.Zip(dv).ToArray(), allowed.Zip(av).ToArray(), threshold, allowedThreshold);
    }

    private static RegexDetector BuildRegex(FileContext file, YamlMappingNode map, string what)
    {
        var caseSensitive = file.Optional(map, "case_sensitive") is { } cs && file.Bool(cs, "case_sensitive");
        var patterns = new List<(string, Regex)>();
        var index = 0;
        foreach (var p in file.Sequence(file.Required(map, "patterns", what), "patterns"))
        {
            index++;
            string name, pattern;
            YamlNode patternNode;
            if (p is YamlMappingNode pm)
            {
                file.OnlyKeys(pm, $"{what} pattern", "name", "pattern");
                name = file.String(file.Required(pm, "name", $"{what} pattern"), "name");
                patternNode = file.Required(pm, "pattern", $"{what} pattern");
                pattern = file.String(patternNode, "pattern");
            }
            else
            {
                patternNode = p;
                pattern = file.String(p, "pattern");
                name = $"pattern_{index}";
            }
            try
            {
                patterns.Add((name, RegexDetector.Compile(pattern, caseSensitive)));
            }
            catch (Exception e) when (e is ArgumentException or NotSupportedException)
            {
                throw file.Error(patternNode, $"{what}: pattern '{name}' is not a usable regular expression (no back-references or look-arounds): {e.Message}");
            }
        }
        return new RegexDetector(patterns);
    }

    private static KeywordDetector BuildKeywords(FileContext file, YamlMappingNode map, string what)
    {
        var caseSensitive = file.Optional(map, "case_sensitive") is { } cs && file.Bool(cs, "case_sensitive");
        var keywordsNode = file.Required(map, "keywords", what);
        var keywords = file.Sequence(keywordsNode, "keywords").Select(n => file.String(n, "keyword")).Where(k => k.Length > 0).ToArray();
        return keywords.Length == 0 ? throw file.Error(keywordsNode, $"{what}: 'keywords' is empty") : new KeywordDetector(keywords, caseSensitive);
    }

    private static JsonSchemaDetector BuildSchema(FileContext file, YamlMappingNode map)
    {
        if (file.Optional(map, "schema") is not { } node)
        {
            // No schema in the file: the rule applies the schema each request brings.
            return new JsonSchemaDetector(null);
        }
        var json = node is YamlScalarNode s ? s.Value ?? "" : ToJson(file, node)?.ToJsonString() ?? "null";
        try
        {
            return new JsonSchemaDetector(JsonSchemaValidator.Parse(json));
        }
        catch (InvalidSchemaException e)
        {
            throw file.Error(node, e.Message);
        }
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

    /// <summary>
    /// YAML to JSON for inline schemas: plain scalars keep their YAML types, quoted ones are strings.
    /// Recursive, but <see cref="YamlLimits"/> has bounded the depth and the alias expansion.
    /// </summary>
    private static JsonNode? ToJson(FileContext file, YamlNode node) => node switch
    {
        YamlMappingNode m => m.Children.Aggregate(new JsonObject(), (o, kv) =>
            o.TryAdd((kv.Key as YamlScalarNode)?.Value ?? throw file.Error(kv.Key, "schema keys must be text"), ToJson(file, kv.Value))
                ? o
                : throw file.Error(kv.Key, "this key appears twice in the schema")),
        YamlSequenceNode s => new JsonArray(s.Children.Select(c => ToJson(file, c)).ToArray()),
        YamlScalarNode { Style: ScalarStyle.Plain } p => p.Value switch
        {
            null or "null" or "~" or "" => null,
            "true" => JsonValue.Create(true),
            "false" => JsonValue.Create(false),
            var v when long.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out var l) => JsonValue.Create(l),
            var v when double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out var dbl) => double.IsFinite(dbl)
                ? JsonValue.Create(dbl)
                : throw file.Error(p, $"'{v}' is not a number JSON can hold; quote it if it is text"),
            var v => JsonValue.Create(v),
        },
        YamlScalarNode q => JsonValue.Create(q.Value),
        _ => throw file.Error(node, "not a YAML value a schema can hold"),
    };

    private static bool IsName(string s) => s.Length is > 0 and <= 128 && s.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.');

    private static string Unwrap(Exception e) => e.InnerException is { } inner && inner is not YamlException ? $"{e.Message} ({inner.Message})" : e.Message;
}
