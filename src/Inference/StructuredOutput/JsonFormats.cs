namespace Mesh.Inference.StructuredOutput;

/// <summary>
/// String formats (JSON Schema 2020-12 §7.3) as regular expressions over their RFC 3339 / RFC 4122 /
/// RFC 5321 shapes, and integer ranges as digit automata. Each generates a subset of what a strict
/// validator accepts: dates never use year 0000, day 29 of February or a day past 28/30 in months that lack it,
/// times have at most 3 fraction digits, e-mail addresses are dot-atoms at a dotted domain.
/// </summary>
internal static class JsonFormats
{
    // Years 0001-9999: RFC 3339 allows 0000, but .NET's DateTime, Python's datetime and JsonSchema.Net's
    // date-time check (which throws on it) do not.
    private const string Date = "(?:[1-9][0-9]{3}|0[1-9][0-9]{2}|00[1-9][0-9]|000[1-9])-(?:(?:0[1-9]|1[0-2])-(?:0[1-9]|1[0-9]|2[0-8])|(?:0[13-9]|1[0-2])-(?:29|30)|(?:0[13578]|1[02])-31)";
    private const string Time = "(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\\.[0-9]{1,3})?(?:Z|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])";

    /// <summary>The supported <c>format</c> values and their patterns.</summary>
    public static readonly IReadOnlyDictionary<string, string> Patterns = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["date"] = Date,
        ["time"] = Time,
        ["date-time"] = Date + "T" + Time,
        ["uuid"] = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
        ["email"] = "[A-Za-z0-9_+-]+(?:\\.[A-Za-z0-9_+-]+)*@[A-Za-z0-9]+(?:-[A-Za-z0-9]+)*(?:\\.[A-Za-z0-9]+(?:-[A-Za-z0-9]+)*)+",
    };

    /// <summary>Largest magnitude of an integer bound.</summary>
    public const long MaxBound = 999_999_999_999_999;

    /// <summary>
    /// The decimal integers in [<paramref name="min"/>, <paramref name="max"/>] (null: unbounded up to
    /// ±<see cref="MaxBound"/>), without leading zeros or "-0". The range is split by sign and by digit
    /// count, and each same-length range [x, y] is written digit by digit (the classic range-to-regex
    /// construction).
    /// </summary>
    public static Symbol[] IntegerRange(GrammarBuilder builder, long? min, long? max, string name)
    {
        var lo = min ?? -MaxBound;
        var hi = max ?? MaxBound;
        if (lo > hi)
        {
            throw new GrammarException($"{name}: minimum {lo} is above maximum {hi}; no integer satisfies both");
        }

        var alternatives = new List<Symbol[]>();
        if (lo < 0)
        {
            // -[max(1, -hi), -lo]
            var negative = NonNegative(builder, Math.Max(1, -Math.Min(hi, -1)), -lo, name);
            alternatives.AddRange(negative.Select(a => (Symbol[])[Symbol.Of(ByteSet.Of((byte)'-')), .. a]));
        }

        if (hi >= 0)
        {
            alternatives.AddRange(NonNegative(builder, Math.Max(0, lo), hi, name));
        }

        return builder.Choice(name, [.. alternatives]);
    }

    private static List<Symbol[]> NonNegative(GrammarBuilder builder, long lo, long hi, string name)
    {
        var result = new List<Symbol[]>();
        for (var length = Digits(lo); length <= Digits(hi); length++)
        {
            var from = Math.Max(lo, length == 1 ? 0 : Pow10(length - 1));
            var to = Math.Min(hi, Pow10(length) - 1);
            if (from <= to)
            {
                result.AddRange(SameLength(builder, from.ToString(), to.ToString(), name));
            }
        }

        return result;
    }

    private static List<Symbol[]> SameLength(GrammarBuilder builder, string x, string y, string name)
    {
        var digit = (Func<char, char, Symbol>)((a, b) => Symbol.Of(ByteSet.Range(a, b)));
        if (x.Length == 1)
        {
            return [[digit(x[0], y[0])]];
        }

        if (x[0] == y[0])
        {
            return [[digit(x[0], x[0]), .. builder.Choice(name, [.. SameLength(builder, x[1..], y[1..], name)])]];
        }

        var rest = x.Length - 1;
        var result = new List<Symbol[]>
        {
            new[] { digit(x[0], x[0]) }.Concat(builder.Choice(name, [.. SameLength(builder, x[1..], new string('9', rest), name)])).ToArray(),
        };
        if (y[0] - x[0] > 1)
        {
            result.Add([digit((char)(x[0] + 1), (char)(y[0] - 1)), .. Enumerable.Repeat(digit('0', '9'), rest)]);
        }

        result.Add([digit(y[0], y[0]), .. builder.Choice(name, [.. SameLength(builder, new string('0', rest), y[1..], name)])]);
        return result;
    }

    private static int Digits(long n) => n.ToString().Length;

    private static long Pow10(int n)
    {
        var p = 1L;
        for (var i = 0; i < n; i++)
        {
            p *= 10;
        }

        return p;
    }
}
