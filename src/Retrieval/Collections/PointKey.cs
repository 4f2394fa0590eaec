using Mesh.Retrieval.V1;

namespace Mesh.Retrieval.Collections;

/// <summary>A point id as a dictionary key: 7 and "7" are different points.</summary>
internal readonly record struct PointKey(ulong Number, string? Text)
{
    public const int MaxTextLength = 256;

    public static PointKey From(PointId? id) => id?.KindCase switch
    {
        PointId.KindOneofCase.Num => new PointKey(id.Num, null),
        PointId.KindOneofCase.Uuid when id.Uuid.Length is > 0 and <= MaxTextLength => new PointKey(0, id.Uuid),
        PointId.KindOneofCase.Uuid => throw RetrievalException.Invalid($"A string point id must have 1..{MaxTextLength} characters; got {id.Uuid.Length}."),
        _ => throw RetrievalException.Invalid("Every point needs an id: set id.num or id.uuid."),
    };

    public PointId ToPointId() => Text is null ? new PointId { Num = Number } : new PointId { Uuid = Text };

    public override string ToString() => Text is null ? Number.ToString(System.Globalization.CultureInfo.InvariantCulture) : $"\"{Text}\"";
}
