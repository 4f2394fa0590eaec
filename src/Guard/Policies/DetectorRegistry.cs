using System.Text.RegularExpressions;
using Mesh.Guard.Detectors;
using Mesh.Guard.Detectors.Pii;
using Mesh.Guard.Detectors.Secrets;
using Mesh.Guard.Schema;
using YamlDotNet.RepresentationModel;

namespace Mesh.Guard.Policies;

/// <summary>
/// One detector kind, everything about it in one place: the <c>detector:</c> value a rule names,
/// the keys of its own a rule may set, how a rule's mapping becomes a detector, and how the kind
/// judges a text that is still arriving (<see cref="StreamingBehaviour"/>).
/// </summary>
public sealed record DetectorKind(string Kind, IReadOnlyList<string> Keys, StreamingBehaviour Streaming, Func<DetectorBuildContext, IDetector> Build);

/// <summary>What a builder reads: the rule's mapping with positioned reads, its name for messages, and the parser's reference embeddings.</summary>
public sealed class DetectorBuildContext
{
    internal DetectorBuildContext(FileContext file, YamlMappingNode map, string what, Func<IReadOnlyList<string>, float[][]> embedReferences)
    {
        File = file;
        Map = map;
        What = what;
        EmbedReferences = embedReferences;
    }

    internal FileContext File { get; }

    /// <summary>The rule's YAML mapping.</summary>
    public YamlMappingNode Map { get; }

    /// <summary>"rule 'name'", for messages.</summary>
    public string What { get; }

    /// <summary>Embeds reference texts (known attacks, topic descriptions), cached by the parser for the life of the process.</summary>
    public Func<IReadOnlyList<string>, float[][]> EmbedReferences { get; }
}

/// <summary>
/// Every detector kind Guard knows. The policy parser takes the kinds, their keys and builders from
/// here, and the streaming check their <see cref="StreamingBehaviour"/>; adding a kind is adding a
/// line here and its builder.
/// </summary>
public static class DetectorRegistry
{
    /// <summary>The kinds by the name a rule's <c>detector:</c> gives.</summary>
    public static IReadOnlyDictionary<string, DetectorKind> Kinds { get; } = new DetectorKind[]
    {
        new("pii", ["entities", "phone_regions", "phone_leniency"], StreamingBehaviour.Window, BuildPii),
        new("secrets", ["entities"], StreamingBehaviour.Window, c =>
        {
            var wanted = Entities(c, SecretRecognizers.All.Select(s => s.EntityType).ToArray());
            return new PatternDetector("secret", SecretRecognizers.All.Where(r => wanted.Contains(r.EntityType)).ToArray());
        }),
        new("prompt_injection", ["threshold", "use_patterns", "use_similarity", "known_attacks"],
            StreamingBehaviour.Window | StreamingBehaviour.Sentences, BuildInjection),
        // Denied topics are judged per sentence; allowed topics on the whole text, at the end.
        new("topic", ["denied_topics", "allowed_topics", "threshold", "allowed_threshold"], StreamingBehaviour.Sentences, BuildTopic),
        new("regex", ["patterns", "case_sensitive", "stream_window"], StreamingBehaviour.Window, BuildRegex),
        new("keyword", ["keywords", "case_sensitive"], StreamingBehaviour.Window, BuildKeywords),
        new("length", ["max_chars"], StreamingBehaviour.Prefix, c =>
            new LengthDetector(c.File.Int(c.File.Required(c.Map, "max_chars", c.What), "max_chars", 1, int.MaxValue))),
        new("json_schema", ["schema"], StreamingBehaviour.WholeText, BuildSchema),
        // A word's NER label depends on its whole window of context: judged on the complete text.
        new("ner", NerRuleBuilder.Keys, StreamingBehaviour.WholeText, NerRuleBuilder.Build),
    }.ToDictionary(k => k.Kind, StringComparer.Ordinal);

    /// <summary>The streaming behaviour of a kind.</summary>
    public static StreamingBehaviour StreamingOf(string kind) => Kinds[kind].Streaming;

    private static List<string> Entities(DetectorBuildContext c, IReadOnlyList<string> known, IReadOnlyList<string>? byDefault = null)
    {
        if (c.File.Optional(c.Map, "entities") is not { } node)
        {
            return [.. byDefault ?? known];
        }
        var list = new List<string>();
        foreach (var e in c.File.Sequence(node, "entities"))
        {
            var entity = c.File.String(e, "entity");
            if (!known.Contains(entity))
            {
                throw c.File.Error(e, $"{c.What}: unknown entity '{entity}'; known: {string.Join(", ", known)}");
            }
            list.Add(entity);
        }
        return list;
    }

    private static PatternDetector BuildPii(DetectorBuildContext c)
    {
        var entities = Entities(c, PiiRecognizers.All, PiiRecognizers.Default);
        var phone = entities.Contains(PiiRecognizers.Phone) ? BuildPhone(c) : null;
        return new PatternDetector("pii", entities.Select(e => PiiRecognizers.Create(e, phone)).ToArray());
    }

    private static PhoneRecognizer BuildPhone(DetectorBuildContext c)
    {
        var (file, map) = (c.File, c.Map);
        var regions = PhoneRecognizer.DefaultRegions;
        if (file.Optional(map, "phone_regions") is { } regionsNode)
        {
            var list = new List<string>();
            foreach (var n in file.Sequence(regionsNode, "phone_regions"))
            {
                var region = file.String(n, "phone region").ToUpperInvariant();
                list.Add(PhoneRecognizer.IsKnownRegion(region) ? region
                    : throw file.Error(n, $"{c.What}: unknown phone region '{region}'; use ISO 3166 alpha-2 codes libphonenumber knows, such as {string.Join(", ", PhoneRecognizer.DefaultRegions)}"));
            }
            regions = list.Count > 0 ? list
                : throw file.Error(regionsNode, $"{c.What}: 'phone_regions' is empty; omit it for the default regions ({string.Join(", ", PhoneRecognizer.DefaultRegions)})");
        }
        var leniency = PhoneRecognizer.DefaultLeniency;
        if (file.Optional(map, "phone_leniency") is { } leniencyNode)
        {
            var name = file.String(leniencyNode, "phone_leniency");
            leniency = PhoneRecognizer.Leniencies.TryGetValue(name, out var l) ? l
                : throw file.Error(leniencyNode, $"{c.What}: unknown phone_leniency '{name}'; allowed: {string.Join(", ", PhoneRecognizer.Leniencies.Keys)}");
        }
        return new PhoneRecognizer(regions, leniency);
    }

    private static PromptInjectionDetector BuildInjection(DetectorBuildContext c)
    {
        var (file, map) = (c.File, c.Map);
        var threshold = file.Optional(map, "threshold") is { } t ? file.Float(t, "threshold", 0, 1) : PolicyParser.DefaultInjectionThreshold;
        var usePatterns = file.Optional(map, "use_patterns") is not { } p || file.Bool(p, "use_patterns");
        var useSimilarity = file.Optional(map, "use_similarity") is not { } s || file.Bool(s, "use_similarity");
        if (!usePatterns && !useSimilarity)
        {
            throw file.Error(map, $"{c.What}: use_patterns and use_similarity are both false; the rule would never fire");
        }
        var attacks = KnownAttacks.All.ToList();
        if (file.Optional(map, "known_attacks") is { } extra)
        {
            attacks.AddRange(file.Sequence(extra, "known_attacks").Select(n => file.String(n, "known attack")));
        }
        return new PromptInjectionDetector(useSimilarity ? c.EmbedReferences(attacks) : [], threshold, usePatterns);
    }

    private static TopicDetector BuildTopic(DetectorBuildContext c)
    {
        var (file, map) = (c.File, c.Map);
        var denied = file.Optional(map, "denied_topics") is { } dn ? file.Sequence(dn, "denied_topics").Select(n => file.String(n, "topic")).ToList() : [];
        var allowed = file.Optional(map, "allowed_topics") is { } an ? file.Sequence(an, "allowed_topics").Select(n => file.String(n, "topic")).ToList() : [];
        if (denied.Count + allowed.Count == 0)
        {
            throw file.Error(map, $"{c.What}: a topic rule needs denied_topics, allowed_topics or both");
        }
        var threshold = file.Optional(map, "threshold") is { } t ? file.Float(t, "threshold", 0, 1) : PolicyParser.DefaultTopicThreshold;
        var allowedThreshold = file.Optional(map, "allowed_threshold") is { } at ? file.Float(at, "allowed_threshold", 0, 1) : threshold;
        var dv = c.EmbedReferences(denied);
        var av = c.EmbedReferences(allowed);
        return new TopicDetector(denied.Zip(dv).ToArray(), allowed.Zip(av).ToArray(), threshold, allowedThreshold);
    }

    private static RegexDetector BuildRegex(DetectorBuildContext c)
    {
        var (file, map, what) = (c.File, c.Map, c.What);
        var caseSensitive = file.Optional(map, "case_sensitive") is { } cs && file.Bool(cs, "case_sensitive");
        var window = file.Optional(map, "stream_window") is { } w ? file.Int(w, "stream_window", 1, 1_000_000) : RegexDetector.DefaultStreamWindow;
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
        // A pattern's own length is unknown: the window stands for it before a match; after one,
        // RegexDetector.StreamLookAhead characters must arrive before it is reported.
        return new RegexDetector(patterns, new StreamReach(window, RegexDetector.StreamLookAhead));
    }

    private static KeywordDetector BuildKeywords(DetectorBuildContext c)
    {
        var (file, map) = (c.File, c.Map);
        var caseSensitive = file.Optional(map, "case_sensitive") is { } cs && file.Bool(cs, "case_sensitive");
        var keywordsNode = file.Required(map, "keywords", c.What);
        var keywords = file.Sequence(keywordsNode, "keywords").Select(n => file.String(n, "keyword")).Where(k => k.Length > 0).ToArray();
        return keywords.Length == 0 ? throw file.Error(keywordsNode, $"{c.What}: 'keywords' is empty") : new KeywordDetector(keywords, caseSensitive);
    }

    private static JsonSchemaDetector BuildSchema(DetectorBuildContext c)
    {
        if (c.File.Optional(c.Map, "schema") is not { } node)
        {
            // No schema in the file: the rule applies the schema each request brings.
            return new JsonSchemaDetector(null);
        }
        var json = node is YamlScalarNode s ? s.Value ?? "" : YamlJson.ToJson(c.File, node)?.ToJsonString() ?? "null";
        try
        {
            return new JsonSchemaDetector(JsonSchemaValidator.Parse(json));
        }
        catch (InvalidSchemaException e)
        {
            throw c.File.Error(node, e.Message);
        }
    }
}
