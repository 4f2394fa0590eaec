using System.Globalization;
using Google.Protobuf.WellKnownTypes;

namespace Mesh.Retrieval.Filtering;

/// <summary>
/// The payload fields a collection declared as indexed, and how their values are read out of a payload.
/// Keyword values are normalised to tagged strings ("s:red", "i:42", "b:1") so that the string "42" and
/// the number 42 stay distinct; numeric values are doubles.
/// </summary>
internal sealed class PayloadSchema
{
    public const int MaxFields = 32;

    private readonly Dictionary<string, int> _positions;

    public PayloadSchema(IEnumerable<PayloadIndexSpec> indexes)
    {
        Fields = [.. indexes];
        _positions = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < Fields.Count; i++)
        {
            _positions[Fields[i].Field] = i;
        }
    }

    public IReadOnlyList<PayloadIndexSpec> Fields { get; }

    /// <summary>Checks a declaration at collection creation.</summary>
    public static void Validate(IReadOnlyList<PayloadIndexSpec> indexes)
    {
        if (indexes.Count > MaxFields)
        {
            throw RetrievalException.Invalid($"payload_indexes: at most {MaxFields} fields; got {indexes.Count}.");
        }
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var index in indexes)
        {
            if (index.Field.Length is 0 or > 128)
            {
                throw RetrievalException.Invalid($"payload_indexes: a field name must have 1..128 characters; got \"{index.Field}\".");
            }
            if (index.Kind is not (PayloadFieldKind.Keyword or PayloadFieldKind.Numeric))
            {
                throw RetrievalException.Invalid($"payload_indexes: field \"{index.Field}\" needs kind KEYWORD or NUMERIC.");
            }
            if (!seen.Add(index.Field))
            {
                throw RetrievalException.Invalid($"payload_indexes: field \"{index.Field}\" is declared twice.");
            }
        }
    }

    /// <summary>Position of a declared field of the given kind, or a clear error naming the problem.</summary>
    public int Resolve(string field, PayloadFieldKind kind, string conditionName)
    {
        if (!_positions.TryGetValue(field, out var position))
        {
            throw RetrievalException.Invalid(
                $"filter: field \"{field}\" has no payload index; declare it in payload_indexes at collection creation (declared: {string.Join(", ", Fields.Select(f => f.Field))}).");
        }
        if (Fields[position].Kind != kind)
        {
            throw RetrievalException.Invalid(
                $"filter: {conditionName} on field \"{field}\" needs a {kind} index; the field is indexed as {Fields[position].Kind}.");
        }
        return position;
    }

    public IndexedValues Extract(Struct payload)
    {
        var keywords = new string[Fields.Count][];
        var numbers = new double[Fields.Count][];
        for (var i = 0; i < Fields.Count; i++)
        {
            var value = Lookup(payload, Fields[i].Field);
            if (Fields[i].Kind == PayloadFieldKind.Keyword)
            {
                keywords[i] = Flatten(value).Select(KeywordOf).OfType<string>().Distinct().ToArray();
            }
            else
            {
                numbers[i] = Flatten(value).Where(v => v.KindCase == Value.KindOneofCase.NumberValue && double.IsFinite(v.NumberValue))
                    .Select(v => v.NumberValue).ToArray();
            }
        }
        return new IndexedValues(keywords, numbers);
    }

    /// <summary>The stored form of a string keyword.</summary>
    public static string Keyword(string value) => "s:" + value;

    /// <summary>The stored form of an integral keyword.</summary>
    public static string Keyword(long value) => "i:" + value.ToString(CultureInfo.InvariantCulture);

    /// <summary>The stored form of a boolean keyword.</summary>
    public static string Keyword(bool value) => value ? "b:1" : "b:0";

    private static string? KeywordOf(Value value) => value.KindCase switch
    {
        Value.KindOneofCase.StringValue => Keyword(value.StringValue),
        Value.KindOneofCase.BoolValue => Keyword(value.BoolValue),
        Value.KindOneofCase.NumberValue when Math.Floor(value.NumberValue) == value.NumberValue && Math.Abs(value.NumberValue) < 9.2e18 =>
            Keyword((long)value.NumberValue),
        _ => null,
    };

    /// <summary>A value and, when it is a list, its elements instead.</summary>
    public static IEnumerable<Value> Flatten(Value? value)
    {
        if (value is null)
        {
            return [];
        }
        return value.KindCase == Value.KindOneofCase.ListValue ? value.ListValue.Values : [value];
    }

    /// <summary>The value at a dotted path ("product.brand"), or null when the payload lacks it.</summary>
    public static Value? Lookup(Struct payload, string path)
    {
        Struct current = payload;
        var parts = path.Split('.');
        for (var i = 0; i < parts.Length; i++)
        {
            if (!current.Fields.TryGetValue(parts[i], out var value))
            {
                return null;
            }
            if (i == parts.Length - 1)
            {
                return value;
            }
            if (value.KindCase != Value.KindOneofCase.StructValue)
            {
                return null;
            }
            current = value.StructValue;
        }
        return null;
    }
}
