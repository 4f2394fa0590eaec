namespace Mesh.Inference.Tokenization;

/// <summary>
/// Reverses text by Unicode code point (a surrogate pair stays in order), the transformation behind
/// <see cref="MirroredBpeEncoder"/>.
/// </summary>
internal static class TextMirror
{
    /// <summary>The code points of <paramref name="text"/> in reverse order.</summary>
    public static string Reverse(string text) =>
        string.Create(text.Length, text, static (destination, source) => WriteReversed(source, destination));

    /// <summary>Writes <paramref name="source"/> reversed by code point into the same-length <paramref name="destination"/>.</summary>
    public static void WriteReversed(ReadOnlySpan<char> source, Span<char> destination)
    {
        int j = source.Length;
        for (int i = 0; i < source.Length; i++)
        {
            if (char.IsHighSurrogate(source[i]) && i + 1 < source.Length && char.IsLowSurrogate(source[i + 1]))
            {
                destination[j - 2] = source[i];
                destination[j - 1] = source[i + 1];
                j -= 2;
                i++;
            }
            else
            {
                destination[--j] = source[i];
            }
        }
    }
}
