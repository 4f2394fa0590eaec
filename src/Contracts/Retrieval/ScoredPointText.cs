using System.Globalization;
using Google.Protobuf.WellKnownTypes;

namespace Mesh.Retrieval.V1;

// Text forms of retrieval messages that more than one client needs the same way: the gateway's
// assistant (prompt and answer scoring) and Mesh.Demo's eval (the judge's sources) must hand the
// model and the graders the same source text.

/// <summary>A point id's text form.</summary>
public sealed partial class PointId
{
    /// <summary>The UUID as given, or the number in invariant decimal ("" when unset).</summary>
    public string ToText() => KindCase switch
    {
        KindOneofCase.Uuid => Uuid,
        KindOneofCase.Num => Num.ToString(CultureInfo.InvariantCulture),
        _ => "",
    };
}

/// <summary>The text a search hit contributes as an assistant source.</summary>
public sealed partial class ScoredPoint
{
    /// <summary>
    /// Payload field <c>text</c> (the whole payload as JSON when there is none), with <c>title</c> and
    /// ": " before it when present, on one line; "" without a payload. This is what the assistant's
    /// prompt shows as source [k] and what Guard's scores and judge are given.
    /// </summary>
    public string SourceText()
    {
        var fields = Payload?.Fields;
        if (fields is null || fields.Count == 0)
        {
            return "";
        }

        var text = fields.TryGetValue("text", out var t) && t.KindCase == Value.KindOneofCase.StringValue
            ? t.StringValue
            : Payload!.ToString();
        // One line per source, so that a source cannot start what looks like the next number.
        return (fields.TryGetValue("title", out var title) && title.KindCase == Value.KindOneofCase.StringValue
            ? $"{title.StringValue}: {text}"
            : text).ReplaceLineEndings(" ");
    }
}
