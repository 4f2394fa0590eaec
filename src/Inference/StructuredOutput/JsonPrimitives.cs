namespace Mesh.Inference.StructuredOutput;

/// <summary>
/// The grammar of JSON's leaves and of any JSON value (RFC 8259), sized so that every value it
/// produces is read the same by any validator: numbers have at most 15 integer and 15 fraction digits
/// and no exponent (they fit a decimal and a double exactly enough for <c>type</c> checks), strings
/// never hold lone surrogate escapes. Whitespace between tokens is bounded (<see cref="MaxWhitespace"/>
/// characters of space, tab or newline) so a model cannot loop on spaces.
/// </summary>
internal sealed class JsonPrimitives(CharacterRules chars, int maxWhitespace)
{
    public const int MaxDigits = 15;
    private Symbol[]? _ws;
    private int _value = -1;

    public GrammarBuilder Builder => chars.Builder;

    public CharacterRules Chars => chars;

    public int MaxWhitespace => maxWhitespace;

    /// <summary>Optional whitespace between JSON tokens.</summary>
    public Symbol[] Ws() => _ws ??= maxWhitespace == 0 ? [] : Builder.Repeat("ws", [Symbol.Of(CharacterRules.Set(" \t\n"))], 0, maxWhitespace);

    public static Symbol[] Null => GrammarBuilder.Literal("null");

    public Symbol[] Boolean() => Builder.Choice("boolean", GrammarBuilder.Literal("true"), GrammarBuilder.Literal("false"));

    /// <summary>An integer: -?(0|[1-9][0-9]{0,14}).</summary>
    public Symbol[] Integer()
    {
        var magnitude = Builder.Choice(
            "uint",
            GrammarBuilder.Literal("0"),
            [Symbol.Of(ByteSet.Range('1', '9')), .. Builder.Repeat("digits", [Symbol.Of(ByteSet.Range('0', '9'))], 0, MaxDigits - 1)]);
        return [.. Builder.Repeat("minus", GrammarBuilder.Literal("-"), 0, 1), .. magnitude];
    }

    /// <summary>A number: an integer with an optional fraction of 1 to 15 digits.</summary>
    public Symbol[] Number()
    {
        var fraction = Builder.Repeat("fraction", [Symbol.Of(ByteSet.Of((byte)'.')), .. Builder.Repeat("fdigits", [Symbol.Of(ByteSet.Range('0', '9'))], 1, MaxDigits)], 0, 1);
        return [.. Integer(), .. fraction];
    }

    /// <summary>A string of any content, with its character count between <paramref name="min"/> and <paramref name="max"/> (max &lt; 0: unbounded).</summary>
    /// <remarks>
    /// The first <paramref name="min"/> characters are printable ASCII, never escapes: a validator counts
    /// text elements (grapheme clusters), and an ASCII character always starts one of its own (CR LF
    /// and combining marks could otherwise merge two counted characters into one).
    /// </remarks>
    public Symbol[] String(int min, int max)
    {
        var quote = Symbol.Of(ByteSet.Of((byte)'"'));
        if (min == 0 && max < 0)
        {
            return [quote, .. Builder.Repeat("chars", chars.JsonStringChar(), 0, -1), quote];
        }

        var printable = new[] { Symbol.Of(ByteSet.Range(0x20, 0x7E).Except(CharacterRules.Set("\"\\"))) };
        return
        [
            quote,
            .. Builder.Repeat("min-chars", printable, min, min),
            .. Builder.Repeat("more-chars", chars.JsonStringChar(bmpOnly: max >= 0), 0, max < 0 ? -1 : max - min),
            quote,
        ];
    }

    /// <summary>Any JSON value (objects and arrays nest through one recursive rule).</summary>
    public Symbol[] AnyValue()
    {
        if (_value >= 0)
        {
            return [Symbol.OfRule(_value)];
        }

        _value = Builder.Declare("value");
        var value = Symbol.OfRule(_value);
        var ws = Ws();
        var comma = (Symbol[])[.. ws, Symbol.Of(ByteSet.Of((byte)',')), .. ws];
        var member = (Symbol[])[.. String(0, -1), .. ws, Symbol.Of(ByteSet.Of((byte)':')), .. ws, value];
        var members = (Symbol[])[.. member, .. Builder.Repeat("members", [.. comma, .. member], 0, -1)];
        var elements = (Symbol[])[value, .. Builder.Repeat("elements", [.. comma, value], 0, -1)];
        Builder.Define(
            _value,
            [Symbol.Of(ByteSet.Of((byte)'{')), .. ws, .. Builder.Repeat("object-body", members, 0, 1), .. ws, Symbol.Of(ByteSet.Of((byte)'}'))],
            [Symbol.Of(ByteSet.Of((byte)'[')), .. ws, .. Builder.Repeat("array-body", elements, 0, 1), .. ws, Symbol.Of(ByteSet.Of((byte)']'))],
            String(0, -1),
            Number(),
            Boolean(),
            Null);
        return [value];
    }

    /// <summary>Any JSON object.</summary>
    public Symbol[] AnyObject()
    {
        AnyValue();
        var ws = Ws();
        var value = AnyValue();
        var comma = (Symbol[])[.. ws, Symbol.Of(ByteSet.Of((byte)',')), .. ws];
        var member = (Symbol[])[.. String(0, -1), .. ws, Symbol.Of(ByteSet.Of((byte)':')), .. ws, .. value];
        var members = (Symbol[])[.. member, .. Builder.Repeat("members", [.. comma, .. member], 0, -1)];
        return [Symbol.Of(ByteSet.Of((byte)'{')), .. ws, .. Builder.Repeat("object-body", members, 0, 1), .. ws, Symbol.Of(ByteSet.Of((byte)'}'))];
    }

    /// <summary>A JSON string literal for <paramref name="text"/> (a property name or enum value), escaped minimally.</summary>
    public static Symbol[] QuotedLiteral(string text)
    {
        var sb = new System.Text.StringBuilder("\"");
        foreach (var c in text)
        {
            sb.Append(c switch
            {
                '"' => "\\\"",
                '\\' => "\\\\",
                '\n' => "\\n",
                '\r' => "\\r",
                '\t' => "\\t",
                < ' ' => $"\\u{(int)c:x4}",
                _ => c.ToString(),
            });
        }

        return GrammarBuilder.Literal(sb.Append('"').ToString());
    }
}
