using System.Text;

namespace Mesh.Inference.StructuredOutput;

/// <summary>
/// Reads a grammar in llama.cpp's GBNF (grammars/README.md of llama.cpp): <c>name ::= alternatives</c>
/// rules, one per line (a rule continues on the next line after <c>|</c>, <c>::=</c> or inside
/// parentheses), string literals with <c>\n \r \t \\ \" \xHH \uHHHH</c> escapes, character classes
/// <c>[a-z]</c> / <c>[^…]</c> (members ASCII), <c>.</c> (any character), groups, and the operators
/// <c>* + ? {m} {m,} {m,n}</c>; <c>#</c> starts a comment. The start rule is <c>root</c>. Left-recursive
/// rules are refused, as llama.cpp refuses them.
/// </summary>
internal sealed class GbnfParser
{
    private readonly string _text;
    private readonly GrammarBuilder _builder = new();
    private readonly CharacterRules _chars;
    private readonly Dictionary<string, int> _rules = new(StringComparer.Ordinal);
    private int _pos;
    private int _nesting;

    private GbnfParser(string text)
    {
        _text = text;
        _chars = new CharacterRules(_builder);
    }

    /// <exception cref="GrammarException">The grammar is malformed (the message gives the line), has no root, or is left-recursive.</exception>
    public static Grammar Parse(string text)
    {
        var parser = new GbnfParser(text);
        parser.ParseRules();
        if (!parser._rules.TryGetValue("root", out var root) || !parser._builder.IsDefined(root))
        {
            throw new GrammarException("the grammar has no 'root' rule; generation starts there");
        }

        return parser._builder.Build(root);
    }

    private GrammarException Error(string what) => new($"grammar line {_text[..Math.Min(_pos, _text.Length)].Count(c => c == '\n') + 1}: {what}");

    private void ParseRules()
    {
        SkipSpace(newlines: true);
        while (_pos < _text.Length)
        {
            var name = ParseName();
            var rule = RuleFor(name);
            if (_builder.IsDefined(rule))
            {
                throw Error($"rule '{name}' is defined twice");
            }

            SkipSpace(newlines: false);
            if (!_text.AsSpan(_pos).StartsWith("::="))
            {
                throw Error($"expected '::=' after '{name}'");
            }

            _pos += 3;
            SkipSpace(newlines: true);
            _builder.Define(rule, [.. ParseAlternatives(nested: false)]);
            SkipSpace(newlines: true);
        }
    }

    private int RuleFor(string name)
    {
        if (!_rules.TryGetValue(name, out var rule))
        {
            rule = _rules[name] = _builder.Declare(name);
        }

        return rule;
    }

    private string ParseName()
    {
        var start = _pos;
        while (_pos < _text.Length && (char.IsAsciiLetterOrDigit(_text[_pos]) || _text[_pos] is '-' or '_'))
        {
            _pos++;
        }

        return _pos > start ? _text[start.._pos] : throw Error($"expected a rule name, found '{(_pos < _text.Length ? _text[_pos] : "end of text")}'");
    }

    private List<Symbol[]> ParseAlternatives(bool nested)
    {
        var alternatives = new List<Symbol[]> { ParseSequence(nested) };
        while (true)
        {
            // A top-level rule may continue on a next line that starts with '|'.
            var resume = _pos;
            SkipSpace(newlines: true);
            if (_pos >= _text.Length || _text[_pos] != '|')
            {
                _pos = resume;
                break;
            }

            _pos++;
            SkipSpace(newlines: true);
            alternatives.Add(ParseSequence(nested));
        }

        return alternatives;
    }

    private Symbol[] ParseSequence(bool nested)
    {
        var sequence = new List<Symbol>();
        while (_pos < _text.Length && _text[_pos] is not ('|' or ')'))
        {
            if (_text[_pos] is '\n' or '\r')
            {
                if (!nested)
                {
                    break; // a rule ends at the end of its line
                }

                SkipSpace(newlines: true);
                continue;
            }

            var item = ParseItem();
            SkipSpace(nested);
            sequence.AddRange(ParseRepetition(item, nested));
        }

        return [.. sequence];
    }

    private Symbol[] ParseItem()
    {
        var c = _text[_pos];
        if (c == '"')
        {
            _pos++;
            var bytes = new List<byte>();
            while (_pos < _text.Length && _text[_pos] != '"')
            {
                bytes.AddRange(Encoding.UTF8.GetBytes(char.ConvertFromUtf32(ParseChar())));
            }

            if (_pos >= _text.Length)
            {
                throw Error("unterminated string literal");
            }

            _pos++;
            return GrammarBuilder.Literal([.. bytes]);
        }

        if (c == '[')
        {
            _pos++;
            var negated = _pos < _text.Length && _text[_pos] == '^';
            _pos += negated ? 1 : 0;
            var set = ByteSet.Empty;
            while (_pos < _text.Length && _text[_pos] != ']')
            {
                var low = ParseChar();
                var high = low;
                if (_pos + 1 < _text.Length && _text[_pos] == '-' && _text[_pos + 1] != ']')
                {
                    _pos++;
                    high = ParseChar();
                }

                if (low > 0x7F || high > 0x7F || high < low)
                {
                    throw Error(high < low ? "character range is reversed" : "character classes may hold only ASCII characters here; write non-ASCII choices as (\"a\" | \"b\")");
                }

                set = set.Union(ByteSet.Range(low, high));
            }

            if (_pos >= _text.Length)
            {
                throw Error("unterminated character class");
            }

            _pos++;
            return negated ? _chars.Char(ByteSet.Range(0, 0x7F).Except(set), true, false, "class") : _chars.Char(set, false, false, "class");
        }

        if (c == '.')
        {
            _pos++;
            return _chars.Char(ByteSet.Range(0, 0x7F), true, false, "any");
        }

        if (c == '(')
        {
            _pos++;
            if (++_nesting > RegexCompiler.MaxNesting)
            {
                throw Error($"parentheses nest deeper than {RegexCompiler.MaxNesting}");
            }

            SkipSpace(newlines: true);
            var alternatives = ParseAlternatives(nested: true);
            if (_pos >= _text.Length || _text[_pos] != ')')
            {
                throw Error("missing ')'");
            }

            _pos++;
            _nesting--;
            var group = _builder.Declare("group");
            _builder.Define(group, [.. alternatives]);
            return [Symbol.OfRule(group)];
        }

        if (char.IsAsciiLetterOrDigit(c) || c is '-' or '_')
        {
            return [Symbol.OfRule(RuleFor(ParseName()))];
        }

        throw Error($"unexpected '{c}'");
    }

    private Symbol[] ParseRepetition(Symbol[] item, bool nested)
    {
        if (_pos >= _text.Length)
        {
            return item;
        }

        int min, max;
        switch (_text[_pos])
        {
            case '*': (min, max) = (0, -1); _pos++; break;
            case '+': (min, max) = (1, -1); _pos++; break;
            case '?': (min, max) = (0, 1); _pos++; break;
            case '{':
                _pos++;
                min = ParseInt();
                max = min;
                if (_pos < _text.Length && _text[_pos] == ',')
                {
                    _pos++;
                    max = _pos < _text.Length && _text[_pos] == '}' ? -1 : ParseInt();
                }

                if (_pos >= _text.Length || _text[_pos] != '}' || (max >= 0 && max < min) || min > RegexCompiler.MaxRepeat || max > RegexCompiler.MaxRepeat)
                {
                    throw Error($"malformed {{m,n}} repetition (0 <= m <= n <= {RegexCompiler.MaxRepeat})");
                }

                _pos++;
                break;
            default:
                return item;
        }

        SkipSpace(nested);
        var single = item.Length == 1 ? item : Group(item);
        return _builder.Repeat("repeat", single, min, max);
    }

    private Symbol[] Group(Symbol[] item)
    {
        var r = _builder.Declare("group");
        _builder.Define(r, item);
        return [Symbol.OfRule(r)];
    }

    private int ParseInt()
    {
        var start = _pos;
        while (_pos < _text.Length && char.IsAsciiDigit(_text[_pos]) && _pos - start < 6)
        {
            _pos++;
        }

        return _pos > start ? int.Parse(_text.AsSpan(start, _pos - start)) : throw Error("expected a number");
    }

    /// <summary>One character of a literal or class, escapes decoded, as a code point.</summary>
    private int ParseChar()
    {
        if (_text[_pos] != '\\')
        {
            var rune = Rune.GetRuneAt(_text, _pos);
            _pos += rune.Utf16SequenceLength;
            return rune.Value;
        }

        _pos++;
        if (_pos >= _text.Length)
        {
            throw Error("the text ends inside an escape");
        }

        var e = _text[_pos++];
        int Hex(int digits)
        {
            if (_pos + digits > _text.Length || !int.TryParse(_text.AsSpan(_pos, digits), System.Globalization.NumberStyles.HexNumber, null, out var v) || !Rune.IsValid(v))
            {
                throw Error($"\\{e} needs {digits} hex digits of a valid character");
            }

            _pos += digits;
            return v;
        }

        return e switch
        {
            'n' => '\n',
            'r' => '\r',
            't' => '\t',
            'x' => Hex(2),
            'u' => Hex(4),
            'U' => Hex(8),
            '\\' or '"' or '[' or ']' or '-' or '^' => e,
            _ => throw Error($"unknown escape '\\{e}'"),
        };
    }

    private void SkipSpace(bool newlines)
    {
        while (_pos < _text.Length)
        {
            var c = _text[_pos];
            if (c == '#')
            {
                while (_pos < _text.Length && _text[_pos] != '\n')
                {
                    _pos++;
                }
            }
            else if (c is ' ' or '\t' || (newlines && c is '\n' or '\r'))
            {
                _pos++;
            }
            else
            {
                break;
            }
        }
    }
}
