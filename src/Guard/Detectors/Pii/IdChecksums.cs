namespace Mesh.Guard.Detectors.Pii;

/// <summary>
/// Check digits of national identifiers and bank numbers, each from the issuer's published rule
/// (the same rules Presidio's recognizers apply). Every method takes the identifier without
/// separators, in upper case, and returns false for a wrong length or a character out of place.
/// </summary>
public static class IdChecksums
{
    /// <summary>US ABA routing number: 3·(d1+d4+d7) + 7·(d2+d5+d8) + (d3+d6+d9) ≡ 0 (mod 10), nine digits.</summary>
    public static bool AbaRouting(ReadOnlySpan<char> d) =>
        AllDigits(d, 9) && (3 * (D(d, 0) + D(d, 3) + D(d, 6)) + 7 * (D(d, 1) + D(d, 4) + D(d, 7)) + D(d, 2) + D(d, 5) + D(d, 8)) % 10 == 0;

    /// <summary>UK NHS number: ten digits; weights 10..2 on the first nine, 11 − sum mod 11 (11 → 0, 10 never issued) is the tenth.</summary>
    public static bool NhsNumber(ReadOnlySpan<char> d)
    {
        if (!AllDigits(d, 10))
        {
            return false;
        }
        var sum = 0;
        for (var i = 0; i < 9; i++)
        {
            sum += D(d, i) * (10 - i);
        }
        var check = 11 - sum % 11;
        return check != 10 && (check == 11 ? 0 : check) == D(d, 9);
    }

    private static readonly int[,] VerhoeffD =
    {
        { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9 }, { 1, 2, 3, 4, 0, 6, 7, 8, 9, 5 }, { 2, 3, 4, 0, 1, 7, 8, 9, 5, 6 },
        { 3, 4, 0, 1, 2, 8, 9, 5, 6, 7 }, { 4, 0, 1, 2, 3, 9, 5, 6, 7, 8 }, { 5, 9, 8, 7, 6, 0, 4, 3, 2, 1 },
        { 6, 5, 9, 8, 7, 1, 0, 4, 3, 2 }, { 7, 6, 5, 9, 8, 2, 1, 0, 4, 3 }, { 8, 7, 6, 5, 9, 3, 2, 1, 0, 4 },
        { 9, 8, 7, 6, 5, 4, 3, 2, 1, 0 },
    };

    private static readonly int[,] VerhoeffP =
    {
        { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9 }, { 1, 5, 7, 6, 2, 8, 3, 0, 9, 4 }, { 5, 8, 0, 3, 7, 9, 6, 1, 4, 2 },
        { 8, 9, 1, 6, 0, 4, 3, 5, 2, 7 }, { 9, 4, 5, 3, 1, 2, 6, 8, 7, 0 }, { 4, 2, 8, 6, 5, 7, 3, 9, 0, 1 },
        { 2, 7, 9, 3, 8, 0, 6, 4, 1, 5 }, { 7, 0, 4, 6, 9, 1, 3, 2, 5, 8 },
    };

    /// <summary>Verhoeff's dihedral-group check (Aadhaar's check digit): true when the whole number checks to 0.</summary>
    public static bool Verhoeff(ReadOnlySpan<char> d)
    {
        var c = 0;
        for (var i = 0; i < d.Length; i++)
        {
            if (!char.IsAsciiDigit(d[d.Length - 1 - i]))
            {
                return false;
            }
            c = VerhoeffD[c, VerhoeffP[i % 8, d[d.Length - 1 - i] - '0']];
        }
        return d.Length > 0 && c == 0;
    }

    /// <summary>Weighted digit sum ≡ 0 (mod <paramref name="modulus"/>) over exactly <paramref name="weights"/>.Length digits.</summary>
    public static bool WeightedSum(ReadOnlySpan<char> d, ReadOnlySpan<int> weights, int modulus, int firstDigitOffset = 0)
    {
        if (!AllDigits(d, weights.Length))
        {
            return false;
        }
        var sum = 0;
        for (var i = 0; i < weights.Length; i++)
        {
            sum += (D(d, i) + (i == 0 ? firstDigitOffset : 0)) * weights[i];
        }
        return sum % modulus == 0;
    }

    /// <summary>Australian Tax File Number: nine digits, weights 1 4 3 7 5 8 6 9 10, sum ≡ 0 (mod 11).</summary>
    public static bool AuTfn(ReadOnlySpan<char> d) => WeightedSum(d, [1, 4, 3, 7, 5, 8, 6, 9, 10], 11);

    /// <summary>Australian Business Number: eleven digits, first digit less one, weights 10 1 3 … 19, sum ≡ 0 (mod 89).</summary>
    public static bool AuAbn(ReadOnlySpan<char> d) => AllDigits(d, 11) && d[0] != '0' && WeightedSum(d, [10, 1, 3, 5, 7, 9, 11, 13, 15, 17, 19], 89, -1);

    /// <summary>Australian Company Number: nine digits, weights 8..1 on the first eight, (10 − sum mod 10) mod 10 is the ninth.</summary>
    public static bool AuAcn(ReadOnlySpan<char> d)
    {
        if (!AllDigits(d, 9))
        {
            return false;
        }
        var sum = 0;
        for (var i = 0; i < 8; i++)
        {
            sum += D(d, i) * (8 - i);
        }
        return (10 - sum % 10) % 10 == D(d, 8);
    }

    /// <summary>Australian Medicare card number: ten or eleven digits, first 2–6, weights 1 3 7 9 1 3 7 9 on the first eight, sum mod 10 is the ninth.</summary>
    public static bool AuMedicare(ReadOnlySpan<char> d)
    {
        if (d.Length is not (10 or 11) || !AllDigits(d, d.Length) || d[0] is < '2' or > '6')
        {
            return false;
        }
        ReadOnlySpan<int> w = [1, 3, 7, 9, 1, 3, 7, 9];
        var sum = 0;
        for (var i = 0; i < 8; i++)
        {
            sum += D(d, i) * w[i];
        }
        return sum % 10 == D(d, 8);
    }

    /// <summary>Singapore NRIC/FIN: prefix S T F G (M-series FINs not checked), seven digits, weights 2 7 6 5 4 3 2, check letter from the prefix's table.</summary>
    public static bool SgNric(ReadOnlySpan<char> s)
    {
        if (s.Length != 9 || !AllDigits(s.Slice(1, 7), 7))
        {
            return false;
        }
        ReadOnlySpan<int> w = [2, 7, 6, 5, 4, 3, 2];
        var sum = 0;
        for (var i = 0; i < 7; i++)
        {
            sum += (s[i + 1] - '0') * w[i];
        }
        var expected = s[0] switch
        {
            'S' => "JZIHGFEDCBA"[sum % 11],
            'T' => "JZIHGFEDCBA"[(sum + 4) % 11],
            'F' => "XWUTRQPNMLK"[sum % 11],
            'G' => "XWUTRQPNMLK"[(sum + 4) % 11],
            _ => '\0',
        };
        return expected == s[8];
    }

    /// <summary>Spanish NIF (DNI: eight digits and a letter) or NIE (X/Y/Z, seven digits, a letter): the letter is TRWAGMYFPDXBNJZSQVHLCKE[number mod 23].</summary>
    public static bool EsNif(ReadOnlySpan<char> s)
    {
        if (s.Length != 9)
        {
            return false;
        }
        var prefix = s[0] switch { 'X' => 0, 'Y' => 1, 'Z' => 2, _ => -1 };
        var digits = prefix >= 0 ? s.Slice(1, 7) : s[..8];
        if (!AllDigits(digits, digits.Length))
        {
            return false;
        }
        var n = prefix >= 0 ? prefix : 0;
        foreach (var c in digits)
        {
            n = n * 10 + (c - '0');
        }
        return "TRWAGMYFPDXBNJZSQVHLCKE"[n % 23] == s[8];
    }

    // Values of the characters in odd positions (1st, 3rd, …) of an Italian fiscal code; digits count as A–J.
    private static readonly int[] FiscalOdd = [1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 2, 4, 18, 20, 11, 3, 6, 8, 12, 14, 16, 10, 22, 25, 24, 23];

    /// <summary>Italian codice fiscale: sixteen characters, the last the check letter from the odd/even position tables (mod 26).</summary>
    public static bool ItFiscalCode(ReadOnlySpan<char> s)
    {
        if (s.Length != 16)
        {
            return false;
        }
        var sum = 0;
        for (var i = 0; i < 15; i++)
        {
            var c = s[i];
            var v = c is >= '0' and <= '9' ? c - '0' : c is >= 'A' and <= 'Z' ? c - 'A' : -1;
            if (v < 0)
            {
                return false;
            }
            sum += i % 2 == 0 ? FiscalOdd[v] : v;
        }
        return s[15] == 'A' + sum % 26;
    }

    private static int D(ReadOnlySpan<char> d, int i) => d[i] - '0';

    private static bool AllDigits(ReadOnlySpan<char> d, int length)
    {
        if (d.Length != length)
        {
            return false;
        }
        foreach (var c in d)
        {
            if (!char.IsAsciiDigit(c))
            {
                return false;
            }
        }
        return true;
    }
}
