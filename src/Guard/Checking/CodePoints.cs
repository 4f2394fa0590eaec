namespace Mesh.Guard.Checking;

/// <summary>
/// Converts UTF-16 indices (what .NET strings use) to code-point indices (what the contract
/// promises, and what Python and most other clients index by).
/// </summary>
public sealed class CodePoints
{
    private readonly int[]? _prefix;

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
