namespace Mesh.Inference.StructuredOutput;

/// <summary>
/// Characters as byte sequences, shared by the regex and JSON Schema compilers of one grammar: any
/// well-formed non-ASCII UTF-8 character (the table of RFC 3629 §4, no surrogates or overlongs), and
/// how a set of characters is written inside a JSON string (escaped where JSON requires it).
/// </summary>
internal sealed class CharacterRules(GrammarBuilder builder)
{
    private readonly int[] _nonAscii = [-1, -1];
    private readonly int[] _jsonChar = [-1, -1];

    public GrammarBuilder Builder => builder;

    /// <summary>
    /// One non-ASCII character, 2 to 4 bytes of well-formed UTF-8; with <paramref name="bmpOnly"/> at most
    /// 3 bytes (one UTF-16 unit, so length limits mean the same in code points and in UTF-16).
    /// </summary>
    public Symbol NonAscii(bool bmpOnly = false)
    {
        var slot = bmpOnly ? 1 : 0;
        if (_nonAscii[slot] < 0)
        {
            var rule = _nonAscii[slot] = builder.Declare(bmpOnly ? "utf8-bmp-char" : "utf8-char");
            var tail = Symbol.Of(ByteSet.Range(0x80, 0xBF));
            var alternatives = new List<Symbol[]>
            {
                new[] { Symbol.Of(ByteSet.Range(0xC2, 0xDF)), tail },
                new[] { Symbol.Of(ByteSet.Of(0xE0)), Symbol.Of(ByteSet.Range(0xA0, 0xBF)), tail },
                new[] { Symbol.Of(ByteSet.Range(0xE1, 0xEC)), tail, tail },
                new[] { Symbol.Of(ByteSet.Of(0xED)), Symbol.Of(ByteSet.Range(0x80, 0x9F)), tail },
                new[] { Symbol.Of(ByteSet.Range(0xEE, 0xEF)), tail, tail },
            };
            if (!bmpOnly)
            {
                alternatives.Add([Symbol.Of(ByteSet.Of(0xF0)), Symbol.Of(ByteSet.Range(0x90, 0xBF)), tail, tail]);
                alternatives.Add([Symbol.Of(ByteSet.Range(0xF1, 0xF3)), tail, tail, tail]);
                alternatives.Add([Symbol.Of(ByteSet.Of(0xF4)), Symbol.Of(ByteSet.Range(0x80, 0x8F)), tail, tail]);
            }

            builder.Define(rule, [.. alternatives]);
        }

        return Symbol.OfRule(_nonAscii[slot]);
    }

    /// <summary>
    /// One character of <paramref name="ascii"/> (plus any non-ASCII character when
    /// <paramref name="nonAscii"/>), written raw, or as JSON string content when <paramref name="inJsonString"/>:
    /// <c>"</c> and <c>\</c> escaped, \n \r \t escaped, other control characters left out.
    /// <paramref name="bmpOnly"/>: the non-ASCII characters only from the BMP (see <see cref="NonAscii"/>).
    /// </summary>
    public Symbol[] Char(ByteSet ascii, bool nonAscii, bool inJsonString, string name, bool bmpOnly = false)
    {
        var alternatives = new List<Symbol[]>();
        if (inJsonString)
        {
            var plain = ascii.Except(ByteSet.Range(0, 0x1F)).Except(ByteSet.Of((byte)'"')).Except(ByteSet.Of((byte)'\\'));
            if (!plain.IsEmpty)
            {
                alternatives.Add([Symbol.Of(plain)]);
            }

            foreach (var (c, escape) in new[] { ('"', "\\\""), ('\\', "\\\\"), ('\n', "\\n"), ('\r', "\\r"), ('\t', "\\t") })
            {
                if (ascii.Contains((byte)c))
                {
                    alternatives.Add(GrammarBuilder.Literal(escape));
                }
            }
        }
        else if (!ascii.IsEmpty)
        {
            alternatives.Add([Symbol.Of(ascii)]);
        }

        if (nonAscii)
        {
            alternatives.Add([NonAscii(bmpOnly)]);
        }

        if (alternatives.Count == 0)
        {
            throw new GrammarException($"{name}: the character set is empty (or has only control characters, which a JSON string cannot hold unescaped)");
        }

        return builder.Choice(name, [.. alternatives]);
    }

    /// <summary>
    /// One character of a JSON string's content: anything but a raw quote, backslash or control
    /// character, or an escape. <paramref name="bmpOnly"/>: no character outside the BMP (see <see cref="NonAscii"/>).
    /// </summary>
    public Symbol[] JsonStringChar(bool bmpOnly = false)
    {
        var slot = bmpOnly ? 1 : 0;
        if (_jsonChar[slot] < 0)
        {
            var rule = _jsonChar[slot] = builder.Declare(bmpOnly ? "json-bmp-char" : "json-char");
            var hex = Symbol.Of(Hex);
            // \uXXXX except surrogate halves (D800-DFFF), which a strict JSON reader refuses alone.
            var noSurrogate = builder.Choice(
                "json-u",
                [Symbol.Of(Hex.Except(ByteSet.Of((byte)'d')).Except(ByteSet.Of((byte)'D'))), hex, hex, hex],
                [Symbol.Of(ByteSet.Of((byte)'d').Union(ByteSet.Of((byte)'D'))), Symbol.Of(ByteSet.Range('0', '7')), hex, hex]);
            builder.Define(
                rule,
                [Symbol.Of(ByteSet.Range(0x20, 0x7F).Except(ByteSet.Of((byte)'"')).Except(ByteSet.Of((byte)'\\')))],
                [NonAscii(bmpOnly)],
                [Symbol.Of(ByteSet.Of((byte)'\\')), Symbol.Of(Set("\"\\/bfnrt"))],
                [.. GrammarBuilder.Literal("\\u"), .. noSurrogate]);
        }

        return [Symbol.OfRule(_jsonChar[slot])];
    }

    public static ByteSet Hex => ByteSet.Range('0', '9').Union(ByteSet.Range('a', 'f')).Union(ByteSet.Range('A', 'F'));

    public static ByteSet Set(string chars)
    {
        var set = ByteSet.Empty;
        foreach (var c in chars)
        {
            set = set.Union(ByteSet.Of((byte)c));
        }

        return set;
    }
}
