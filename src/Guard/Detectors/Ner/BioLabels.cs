namespace Mesh.Guard.Detectors.Ner;

/// <summary>
/// A token-classification model's label map in the BIO scheme (Ramshaw and Marcus 1995, as CoNLL-2003
/// models use it): index <c>i</c> of the model's last output dimension is label <c>Labels[i]</c>, each
/// <c>"O"</c>, <c>"B-TYPE"</c> (first word of an entity) or <c>"I-TYPE"</c> (a following word). Types
/// map to Presidio's entity names through <see cref="EntityOf"/>; a type not mapped (<c>MISC</c>) is
/// never reported but still ends the entity before it.
/// </summary>
public sealed class BioLabels
{
    /// <summary>The entity names the NER detector reports (Presidio's).</summary>
    public static readonly IReadOnlyList<string> Entities = ["PERSON", "LOCATION", "ORGANIZATION"];

    /// <summary>The model type → entity mapping used when a policy gives none (CoNLL's and OntoNotes-style names).</summary>
    public static readonly IReadOnlyDictionary<string, string> DefaultEntityMap = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["PER"] = "PERSON", ["PERSON"] = "PERSON",
        ["LOC"] = "LOCATION", ["LOCATION"] = "LOCATION", ["GPE"] = "LOCATION",
        ["ORG"] = "ORGANIZATION", ["ORGANIZATION"] = "ORGANIZATION",
    };

    private readonly bool[] _begins;
    private readonly string?[] _entities;

    private BioLabels(IReadOnlyList<string> labels, bool[] begins, string?[] entities)
    {
        Labels = labels;
        _begins = begins;
        _entities = entities;
    }

    /// <summary>The labels in the model's output order.</summary>
    public IReadOnlyList<string> Labels { get; }

    /// <summary>The number of labels (the model's last output dimension).</summary>
    public int Count => Labels.Count;

    /// <summary>The Presidio entity of label <paramref name="index"/>, or null for O and unmapped types.</summary>
    public string? EntityOf(int index) => _entities[index];

    /// <summary>True when label <paramref name="index"/> starts an entity (B-).</summary>
    public bool Begins(int index) => _begins[index];

    /// <summary>
    /// Parses <paramref name="labels"/> with <paramref name="entityMap"/> (model type → Presidio entity).
    /// Errors come back as a message (null when the map is valid), for the policy parser to place.
    /// </summary>
    public static BioLabels? TryCreate(IReadOnlyList<string> labels, IReadOnlyDictionary<string, string> entityMap, out string? error)
    {
        var begins = new bool[labels.Count];
        var entities = new string?[labels.Count];
        var types = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < labels.Count; i++)
        {
            var label = labels[i];
            if (label == "O")
            {
                continue;
            }
            if (label.Length < 3 || label[1] != '-' || (label[0] != 'B' && label[0] != 'I'))
            {
                error = $"label '{label}' (index {i}) is not in the BIO scheme: use O, B-TYPE or I-TYPE";
                return null;
            }
            var type = label[2..];
            types.Add(type);
            begins[i] = label[0] == 'B';
            entities[i] = entityMap.TryGetValue(type, out var entity) ? entity : null;
        }
        if (!labels.Contains("O"))
        {
            error = "the labels have no 'O' (outside any entity)";
            return null;
        }
        if (entities.All(e => e is null))
        {
            error = $"no label type maps to {string.Join(", ", Entities)} (types: {string.Join(", ", types)}); set 'entity_map'";
            return null;
        }
        error = null;
        return new BioLabels(labels, begins, entities);
    }
}
