namespace Mesh.Guard.Checking;

/// <summary>
/// Converts UTF-16 indices (what .NET strings use) to code-point indices (what the contract
/// promises, and what Python and most other clients index by).
/// </summary>
public sealed class CodePoints
{
    private readonly int[]? _prefix;

    /// <summary>Prepares the index map of <paramref name="text"/>: O(1) when it has no surrogates, else one int per UTF-16 unit.</summary>
    public CodePoints(string text)
    {
        // Fast path: without surrogates the two indexings agree.
        if (text.AsSpan().IndexOfAnyInRange('\uD800', '\uDFFF') < 0)
        {
            return;
        }
        _prefix = new int[text.Length + 1];
        var n = 0;
        for (var i = 0; i < text.Length; i++)
        {
            _prefix[i] = n;
            if (!(char.IsLowSurrogate(text[i]) && i > 0 && char.IsHighSurrogate(text[i - 1])))
            {
                n++;
            }
        }
        _prefix[text.Length] = n;
    }

    /// <summary>The code-point index of UTF-16 index <paramref name="utf16Index"/> (0 to the text's length inclusive).</summary>
    public int this[int utf16Index] => _prefix is null ? utf16Index : _prefix[utf16Index];

    /// <summary>Number of code points in a text.</summary>
    public static int Count(string text)
    {
        var n = text.Length;
        for (var i = 1; i < text.Length; i++)
        {
            if (char.IsLowSurrogate(text[i]) && char.IsHighSurrogate(text[i - 1]))
            {
                n--;
            }
        }
        return n;
    }
}
