using System.Globalization;

namespace Mesh.Guard.Detectors.Pii;

/// <summary>
/// What a format or checksum check must not care about, folded away before the check: letters to
/// upper case (an IBAN is the same account as <c>gb82west…</c> or <c>GB82WEST…</c>) and every Unicode
/// decimal digit to its ASCII digit (<c>٤١١١…</c> is the same card number as <c>4111…</c>; the
/// patterns' <c>\d</c> matches both, so the validators must read both).
/// </summary>
public static class FormatFolding
{
    /// <summary>
    /// <paramref name="value"/> with letters upper-cased (invariant culture), decimal digits as
    /// ASCII and every character in <paramref name="drop"/> removed. Same length or shorter.
    /// </summary>
    public static string Fold(ReadOnlySpan<char> value, ReadOnlySpan<char> drop = default)
    {
        Span<char> buffer = value.Length <= 256 ? stackalloc char[value.Length] : new char[value.Length];
        var n = 0;
        foreach (var c in value)
        {
            if (drop.Contains(c))
            {
                continue;
            }
            buffer[n++] = char.IsAsciiDigit(c) ? c
                : CharUnicodeInfo.GetDecimalDigitValue(c) is var d and >= 0 ? (char)('0' + d)
                : char.ToUpperInvariant(c);
        }
        return new string(buffer[..n]);
    }

    /// <summary>The decimal digits of <paramref name="value"/>, any script, as ASCII.</summary>
    public static string Digits(ReadOnlySpan<char> value)
    {
        var folded = Fold(value);
        return string.Create(folded.Count(char.IsAsciiDigit), folded, static (span, s) =>
        {
            var i = 0;
            foreach (var c in s)
            {
                if (char.IsAsciiDigit(c))
                {
                    span[i++] = c;
                }
            }
        });
    }
}
