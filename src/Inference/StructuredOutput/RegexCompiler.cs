using System.Text;

namespace Mesh.Inference.StructuredOutput;

/// <summary>
/// Compiles a regular expression (a documented subset of ECMAScript / .NET syntax) into grammar rules,
/// a Thompson-style construction that <see cref="GrammarMatcher"/> then determinizes lazily. The whole
/// output must match (the pattern is anchored at both ends). Supported: literals, <c>.</c>, classes
/// <c>[a-z0-9_]</c> and <c>[^…]</c> (members ASCII), <c>\d \w \s \D \W \S</c>, escapes <c>\t \n \r \f \v
/// \uXXXX</c> and escaped punctuation, groups <c>(…)</c> <c>(?:…)</c>, <c>|</c>, <c>* + ? {n} {n,} {n,m}</c>
/// (m ≤ 1000), <c>^</c> at the start and <c>$</c> at the end. Everything else (backreferences,
/// lookaround, lazy quantifiers, <c>\b</c>, <c>\p{…}</c>, inline flags) is refused with its position.
/// Shorthands match their ASCII members only (a subset of .NET's Unicode-aware \d \w \s, so every
/// output still matches under either engine). <c>.</c> and negated classes match BMP characters only:
/// .NET's and ECMAScript's (no <c>u</c> flag) engines count a character outside the BMP as two
/// (a surrogate pair), so <c>[^"]{2}</c> would otherwise produce text they refuse.
/// </summary>
internal sealed class RegexCompiler
{
    public const int MaxRepeat = 1000;

    /// <summary>Deepest nesting of groups (parsing recurses once per level).</summary>
    public const int MaxNesting = 100;
    private static readonly ByteSet Digit = ByteSet.Range('0', '9');
    private static readonly ByteSet Word = Digit.Union(ByteSet.Range('a', 'z')).Union(ByteSet.Range('A', 'Z')).Union(ByteSet.Of((byte)'_'));
    private static readonly ByteSet Space = CharacterRules.Set(" \t\n\r\f\v");
    private static readonly ByteSet Ascii = ByteSet.Range(0, 0x7F);

    private readonly CharacterRules _chars;
    private readonly bool _inJsonString;
    private readonly string _pattern;
    private readonly string _name;
    private int _pos;
    private int _nesting;

    private RegexCompiler(CharacterRules chars, string pattern, bool inJsonString, string name)
    {
        _chars = chars;
        _pattern = pattern;
        _inJsonString = inJsonString;
        _name = name;
    }

    /// <summary>
    /// The symbols of text matching <paramref name="pattern"/> in full (raw text, or JSON string content
    /// when <paramref name="inJsonString"/>). With <paramref name="searchSemantics"/> (JSON Schema's
    /// <c>pattern</c>), a pattern without <c>^</c>/<c>$</c> may be preceded/followed by any text.
    /// </summary>
    /// <exception cref="GrammarException">The pattern is malformed or uses an unsupported construct.</exception>
    public static Symbol[] Compile(CharacterRules chars, string pattern, bool inJsonString, bool searchSemantics, string name)
    {
        var c = new RegexCompiler(chars, pattern, inJsonString, name);
        var anchoredStart = c.Eat('^');
        var body = c.ParseAlternation();
        var anchoredEnd = c.Eat('$');
        if (c._pos < pattern.Length)
        {
            throw c.Error(pattern[c._pos] == ')' ? "unbalanced ')'" : $"'{pattern[c._pos]}' is not supported here (anchors ^ and $ only at the ends)");
        }

        if (!searchSemantics)
        {
            return body;
        }

        var any = chars.Builder.Repeat(name + "-any", inJsonString ? chars.JsonStringChar() : chars.Char(Ascii.Except(ByteSet.Of((byte)'\n')), true, false, name), 0, -1);
        return [.. anchoredStart ? [] : any, .. body, .. anchoredEnd ? [] : any];
    }

    private GrammarException Error(string what) => new($"{_name}: {what} at position {_pos} of the pattern");

    private bool Eat(char c)
    {
        if (_pos < _pattern.Length && _pattern[_pos] == c)
        {
            _pos++;
            return true;
        }

        return false;
    }

    private Symbol[] ParseAlternation()
    {
        var alternatives = new List<Symbol[]> { ParseConcatenation() };
        while (Eat('|'))
        {
            alternatives.Add(ParseConcatenation());
        }

        return _chars.Builder.Choice(_name + "-alt", [.. alternatives]);
    }

    private Symbol[] ParseConcatenation()
    {
        var result = new List<Symbol>();
        while (_pos < _pattern.Length && _pattern[_pos] is not ('|' or ')'))
        {
            if (_pattern[_pos] == '$' && _pos == _pattern.Length - 1)
            {
                break;
            }

            var atom = ParseAtom();
            result.AddRange(ParseQuantifier(atom));
        }

        return [.. result];
    }

    private Symbol[] ParseQuantifier(Symbol[] atom)
    {
        if (_pos >= _pattern.Length)
        {
            return atom;
        }

        int min, max;
        switch (_pattern[_pos])
        {
            case '*': min = 0; max = -1; _pos++; break;
            case '+': min = 1; max = -1; _pos++; break;
            case '?': min = 0; max = 1; _pos++; break;
            case '{':
                (min, max) = ParseBraces();
                break;
            default:
                return atom;
        }

        if (_pos < _pattern.Length && _pattern[_pos] is '?' or '+' or '*' or '{')
        {
            throw Error("lazy, possessive or stacked quantifiers are not supported (a constraint has no preference between matches)");
        }

        if (max >= 0 && max == min && min == 1)
        {
            return atom;
        }

        // One rule for the repeated item, so its copies share it.
        return _chars.Builder.Repeat(_name + "-rep", atom.Length == 1 ? atom : Wrap(atom), min, max);
    }

    private Symbol[] Wrap(Symbol[] atom)
    {
        var r = _chars.Builder.Declare(_name + "-group");
        _chars.Builder.Define(r, atom);
        return [Symbol.OfRule(r)];
    }

    private (int Min, int Max) ParseBraces()
    {
        var start = _pos++;
        var min = ParseNumber();
        var max = min;
        if (Eat(','))
        {
            max = _pos < _pattern.Length && _pattern[_pos] == '}' ? -1 : ParseNumber();
        }

        if (!Eat('}') || min < 0)
        {
            _pos = start;
            throw Error("malformed {n,m} quantifier");
        }

        if (min > MaxRepeat || max > MaxRepeat || (max >= 0 && max < min))
        {
            _pos = start;
            throw Error($"repetition bounds must satisfy 0 <= n <= m <= {MaxRepeat}");
        }

        return (min, max);
    }

    private int ParseNumber()
    {
        var start = _pos;
        while (_pos < _pattern.Length && char.IsAsciiDigit(_pattern[_pos]) && _pos - start < 6)
        {
            _pos++;
        }

        return _pos == start ? -1 : int.Parse(_pattern.AsSpan(start, _pos - start));
    }

    private Symbol[] ParseAtom()
    {
        var c = _pattern[_pos];
        switch (c)
        {
            case '(':
                _pos++;
                if (++_nesting > MaxNesting)
                {
                    throw Error($"groups nest deeper than {MaxNesting}");
                }

                if (Eat('?'))
                {
                    if (!Eat(':'))
                    {
                        throw Error("only non-capturing groups (?:…) are supported; lookaround, named groups and inline flags are not");
                    }
                }

                var inner = ParseAlternation();
                if (!Eat(')'))
                {
                    throw Error("missing ')'");
                }

                _nesting--;

                return inner.Length == 1 ? inner : Wrap(inner);
            case '[':
                return ParseClass();
            case '.':
                _pos++;
                return _chars.Char(Ascii.Except(ByteSet.Of((byte)'\n')), true, _inJsonString, _name + "-dot", bmpOnly: true);
            case '\\':
                return ParseEscapeAtom();
            case '*' or '+' or '?' or '{':
                throw Error($"quantifier '{c}' has nothing to repeat");
            case '^' or '$':
                throw Error($"anchor '{c}' is supported only at the start (^) or the end ($)");
            default:
                var rune = Rune.GetRuneAt(_pattern, _pos);
                _pos += rune.Utf16SequenceLength;
                return Literal(rune);
        }
    }

    private Symbol[] Literal(Rune rune)
    {
        if (rune.IsAscii)
        {
            return _chars.Char(ByteSet.Of((byte)rune.Value), false, _inJsonString, _name);
        }

        Span<byte> utf8 = stackalloc byte[4];
        return GrammarBuilder.Literal(utf8[..rune.EncodeToUtf8(utf8)]);
    }

    private Symbol[] ParseEscapeAtom()
    {
        var (set, nonAscii, rune) = ParseEscape(inClass: false);
        return rune is { } r ? Literal(r) : _chars.Char(set, nonAscii, _inJsonString, _name + "-class", bmpOnly: true);
    }

    /// <summary>An escape: either a class (set, non-ASCII included) or a single character.</summary>
    private (ByteSet Set, bool NonAscii, Rune? Rune) ParseEscape(bool inClass)
    {
        _pos++; // the backslash
        if (_pos >= _pattern.Length)
        {
            throw Error("the pattern ends with a lone backslash");
        }

        var c = _pattern[_pos++];
        switch (c)
        {
            case 'd': return (Digit, false, null);
            case 'w': return (Word, false, null);
            case 's': return (Space, false, null);
            case 'D': return (Ascii.Except(Digit), false, null);
            case 'W': return (Ascii.Except(Word), false, null);
            case 'S': return (Ascii.Except(Space), false, null);
            case 't': return (default, false, new Rune('\t'));
            case 'n': return (default, false, new Rune('\n'));
            case 'r': return (default, false, new Rune('\r'));
            case 'f': return (default, false, new Rune('\f'));
            case 'v': return (default, false, new Rune('\v'));
            case 'u':
                if (_pos + 4 <= _pattern.Length && int.TryParse(_pattern.AsSpan(_pos, 4), System.Globalization.NumberStyles.HexNumber, null, out var code) && Rune.IsValid(code))
                {
                    _pos += 4;
                    return (default, false, new Rune(code));
                }

                throw Error("\\u needs four hex digits of a valid character");
            case 'b' when inClass:
                return (default, false, new Rune('\b'));
            default:
                if (char.IsAsciiLetterOrDigit(c))
                {
                    _pos--;
                    throw Error($"escape '\\{c}' is not supported (backreferences, \\b, \\p{{…}} and the like cannot constrain generation)");
                }

                return (default, false, new Rune(c));
        }
    }

    private Symbol[] ParseClass()
    {
        var start = _pos++;
        var negated = Eat('^');
        var set = ByteSet.Empty;
        var shorthand = false;
        var first = true;
        while (_pos < _pattern.Length && (_pattern[_pos] != ']' || first))
        {
            first = false;
            var (low, lowSet, isShorthand) = ClassMember();
            if (isShorthand)
            {
                set = set.Union(lowSet);
                shorthand = true;
                continue;
            }

            if (_pos + 1 < _pattern.Length && _pattern[_pos] == '-' && _pattern[_pos + 1] != ']')
            {
                _pos++;
                var (high, _, highShorthand) = ClassMember();
                if (highShorthand || high < low)
                {
                    throw Error("bad range in character class");
                }

                set = set.Union(ByteSet.Range(low, high));
            }
            else
            {
                set = set.Union(ByteSet.Of((byte)low));
            }
        }

        if (!Eat(']'))
        {
            _pos = start;
            throw Error("missing ']'");
        }

        // A negated class takes every non-ASCII character too, unless it holds a shorthand, whose .NET
        // meaning includes non-ASCII letters and digits that the class must then exclude.
        return negated
            ? _chars.Char(Ascii.Except(set), !shorthand, _inJsonString, _name + "-class", bmpOnly: true)
            : _chars.Char(set, false, _inJsonString, _name + "-class");
    }

    private (int Char, ByteSet Set, bool Shorthand) ClassMember()
    {
        if (_pattern[_pos] == '\\')
        {
            var (set, _, rune) = ParseEscape(inClass: true);
            if (rune is null)
            {
                return (0, set, true);
            }

            return rune.Value.IsAscii ? (rune.Value.Value, default, false) : throw Error("character classes may hold only ASCII characters; write non-ASCII choices as (a|b)");
        }

        var c = _pattern[_pos++];
        return c < 0x80 ? (c, default, false) : throw Error("character classes may hold only ASCII characters; write non-ASCII choices as (a|b)");
    }
}
