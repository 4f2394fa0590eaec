using Mesh.Guard.Detectors;
using Mesh.Guard.Detectors.Ner;
using YamlDotNet.RepresentationModel;

namespace Mesh.Guard.Policies;

/// <summary>
/// Builds a <c>detector: ner</c> rule: the deployment's model and vocabulary are loaded (or taken from
/// <see cref="NerModel"/>'s cache) and checked against the rule while the policy loads, so a missing
/// file, a model ONNX Runtime refuses, inputs Guard cannot feed, or a label count that differs from
/// the model's output is a <c>file:line:column</c> error, never a failed check later. Relative paths
/// are resolved against the policy file's folder.
/// </summary>
internal static class NerRuleBuilder
{
    /// <summary>The rule keys of the ner kind.</summary>
    public static readonly IReadOnlyList<string> Keys =
        ["model", "vocab", "labels", "entity_map", "lowercase", "min_score", "max_sequence_length", "window_overlap"];

    public const float DefaultMinScore = 0.5f;
    public const int DefaultMaxSequenceLength = 512;
    private const int MaxLabels = 1024;
    private const long MaxVocabBytes = 32L * 1024 * 1024;

    public static IDetector Build(DetectorBuildContext c)
    {
        var (file, map, what) = (c.File, c.Map, c.What);
        var modelNode = file.Optional(map, "model")
            ?? throw file.Error(map, $"{what}: the ner detector needs 'model' (a token-classification ONNX file the deployment supplies) and 'vocab'; Guard ships no NER model, so without them there is no NER rule — remove the rule to run without NER");
        var modelPath = ExistingFile(file, modelNode, "model", long.MaxValue);
        var vocabNode = file.Required(map, "vocab", what);
        var vocabPath = ExistingFile(file, vocabNode, "vocab", MaxVocabBytes);

        var labelsNode = file.Required(map, "labels", what);
        var labelList = file.Sequence(labelsNode, "labels").Select(n => file.String(n, "label")).ToList();
        if (labelList.Count < 2 || labelList.Count > MaxLabels || labelList.Distinct(StringComparer.Ordinal).Count() != labelList.Count)
        {
            throw file.Error(labelsNode, $"{what}: 'labels' must list 2 to {MaxLabels} distinct labels in the model's output order, such as [O, B-PER, I-PER, B-LOC, I-LOC, B-ORG, I-ORG]");
        }
        var entityMap = BioLabels.DefaultEntityMap;
        if (file.Optional(map, "entity_map") is { } mapNode)
        {
            entityMap = EntityMap(file, mapNode, what, labelList);
        }
        var labels = BioLabels.TryCreate(labelList, entityMap, out var labelError)
            ?? throw file.Error(labelsNode, $"{what}: {labelError}");

        var lowercase = file.Optional(map, "lowercase") is { } lc && file.Bool(lc, "lowercase");
        var minScore = file.Optional(map, "min_score") is { } ms ? file.Float(ms, "min_score", 0, 1) : DefaultMinScore;

        NerModel model;
        try
        {
            model = NerModel.Load(modelPath, vocabPath, lowercase);
        }
        catch (InvalidDataException e)
        {
            throw file.Error(modelNode, $"{what}: {e.Message}");
        }
        if (model.OutputLabels > 0 && model.OutputLabels != labels.Count)
        {
            throw file.Error(labelsNode, $"{what}: the model outputs {model.OutputLabels} labels but 'labels' lists {labels.Count}");
        }
        var maxNode = file.Optional(map, "max_sequence_length");
        var upper = model.FixedSequence > 0 ? model.FixedSequence : 8192;
        var maxLength = maxNode is not null ? file.Int(maxNode, "max_sequence_length", 3, upper)
            : Math.Min(DefaultMaxSequenceLength, upper);
        var overlap = file.Optional(map, "window_overlap") is { } ov
            ? file.Int(ov, "window_overlap", 0, maxLength - 3)
            : (maxLength - 2) / 4;
        try
        {
            // One empty window ([CLS] [SEP]) through the model: a graph whose label dimension is
            // symbolic shows its real width here, at load, rather than on a user's request.
            model.Run([new ArraySegment<int>([])], labels.Count, CancellationToken.None);
        }
        catch (Exception e) when (e is InvalidDataException or Microsoft.ML.OnnxRuntime.OnnxRuntimeException)
        {
            throw file.Error(modelNode, $"{what}: the model fails a trial run: {e.Message}");
        }
        return new NerDetector(model, labels, minScore, maxLength, overlap);
    }

    private static string ExistingFile(FileContext file, YamlNode node, string key, long maxBytes)
    {
        var value = file.String(node, key);
        if (value.Length == 0)
        {
            throw file.Error(node, $"'{key}' is empty; give the path of the file");
        }
        var folder = Path.GetDirectoryName(Path.GetFullPath(file.Source)) ?? Directory.GetCurrentDirectory();
        var path = Path.GetFullPath(value, folder);
        var info = new FileInfo(path);
        if (!info.Exists)
        {
            throw file.Error(node, $"{key} file '{path}' does not exist; NER needs the deployment's model and vocabulary files");
        }
        return info.Length <= maxBytes ? path : throw file.Error(node, $"{key} file '{path}' is {info.Length} bytes; at most {maxBytes} allowed");
    }

    private static Dictionary<string, string> EntityMap(FileContext file, YamlNode node, string what, List<string> labels)
    {
        var types = labels.Where(l => l.Length > 2 && l[1] == '-').Select(l => l[2..]).ToHashSet(StringComparer.Ordinal);
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (key, value) in file.Mapping(node, "'entity_map'").Children)
        {
            var type = file.String(key, "model entity type");
            var entity = file.String(value, "entity");
            if (!types.Contains(type))
            {
                throw file.Error(key, $"{what}: entity_map names type '{type}', which no label has; types: {string.Join(", ", types)}");
            }
            if (!BioLabels.Entities.Contains(entity, StringComparer.Ordinal))
            {
                throw file.Error(value, $"{what}: entity_map maps '{type}' to unknown entity '{entity}'; allowed: {string.Join(", ", BioLabels.Entities)}");
            }
            result[type] = entity;
        }
        return result;
    }
}
