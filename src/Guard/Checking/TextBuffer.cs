namespace Mesh.Guard.Checking;

/// <summary>
/// The text of a stream, appended chunk by chunk, with windows cut from it and UTF-16 positions
/// mapped to code points, each in time proportional to what it touches rather than to the whole
/// text (a <see cref="System.Text.StringBuilder"/> indexer walks its chunk list; rebuilding a
/// string per chunk would make a stream quadratic).
/// </summary>
public sealed class TextBuffer
{
    private char[] _chars = new char[256];
    // UTF-16 indices of the low halves of surrogate pairs: each is one code point fewer.
    private readonly List<int> _pairLows = [];

    /// <summary>Length in UTF-16 units.</summary>
    public int Length { get; private set; }

    /// <summary>Length in code points.</summary>
    public int CodePoints => Length - _pairLows.Count;

    /// <summary>The whole text so far, without copying.</summary>
    public ReadOnlySpan<char> Span => _chars.AsSpan(0, Length);

    /// <summary>Appends <paramref name="chunk"/>, in time proportional to its length (amortised); a surrogate pair split across chunks counts as one code point.</summary>
    public void Append(string chunk)
    {
        if (Length + chunk.Length > _chars.Length)
        {
            Array.Resize(ref _chars, Math.Max(_chars.Length * 2, Length + chunk.Length));
        }
        chunk.CopyTo(_chars.AsSpan(Length));
        // A pair may straddle two chunks: look one character back.
        for (var i = Math.Max(1, Length); i < Length + chunk.Length; i++)
        {
            if (char.IsLowSurrogate(_chars[i]) && char.IsHighSurrogate(_chars[i - 1]))
            {
                _pairLows.Add(i);
            }
        }
        Length += chunk.Length;
    }

    /// <summary>[from, from + length) as a string.</summary>
    public string ToString(int from, int length) => new(_chars, from, length);

    /// <summary>The whole text so far, as a new string.</summary>
    public override string ToString() => ToString(0, Length);

    /// <summary><paramref name="index"/>, moved back one when it would split a surrogate pair.</summary>
    public int PairStart(int index) =>
        index > 0 && index < Length && char.IsLowSurrogate(_chars[index]) && char.IsHighSurrogate(_chars[index - 1]) ? index - 1 : index;

    /// <summary>The code point index of a UTF-16 index (what the contract reports).</summary>
    public int CodePointAt(int utf16Index)
    {
        var lows = _pairLows.BinarySearch(utf16Index);
        // Pairs whose low half lies before the index each count one code point fewer.
        return utf16Index - (lows >= 0 ? lows : ~lows);
    }
}
