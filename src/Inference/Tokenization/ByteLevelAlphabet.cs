namespace Mesh.Inference.Tokenization;

/// <summary>
/// GPT-2's byte-to-character table (<c>bytes_to_unicode</c> in OpenAI's encoder.py, used by every
/// byte-level BPE vocabulary): the printable bytes <c>!</c>–<c>~</c>, <c>¡</c>–<c>¬</c>, <c>®</c>–<c>ÿ</c> stand
/// for themselves, the other 68 bytes for U+0100 onwards in byte order, so a space is <c>Ġ</c> (U+0120)
/// and a newline <c>Ċ</c> (U+010A). Vocabulary entries and merges are written in these characters.
/// </summary>
internal static class ByteLevelAlphabet
{
    private static readonly char[] ByteToChar = BuildByteToChar();
    private static readonly Dictionary<char, byte> CharToByte = Enumerable.Range(0, 256).ToDictionary(b => ByteToChar[b], b => (byte)b);

    /// <summary>The byte-level spelling of UTF-8 bytes: one character per byte.</summary>
    public static string Encode(ReadOnlySpan<byte> utf8) => string.Create(utf8.Length, utf8.ToArray(), static (chars, bytes) =>
    {
        for (int i = 0; i < bytes.Length; i++)
        {
            chars[i] = ByteToChar[bytes[i]];
        }
    });

    /// <summary>
    /// The bytes a byte-level spelled token stands for. A character outside the table (a malformed
    /// vocabulary) contributes its own UTF-8, rather than failing a whole response.
    /// </summary>
    public static byte[] Decode(string token)
    {
        var bytes = new List<byte>(token.Length);
        Span<byte> utf8 = stackalloc byte[4];
        foreach (var rune in token.EnumerateRunes())
        {
            if (rune.IsBmp && CharToByte.TryGetValue((char)rune.Value, out byte b))
            {
                bytes.Add(b);
                continue;
            }

            int n = rune.EncodeToUtf8(utf8);
            bytes.AddRange(utf8[..n]);
        }

        return [.. bytes];
    }

    private static char[] BuildByteToChar()
    {
        var table = new char[256];
        int next = 256;
        for (int b = 0; b < 256; b++)
        {
            bool printable = b is >= '!' and <= '~' or >= 0xA1 and <= 0xAC or >= 0xAE and <= 0xFF;
            table[b] = printable ? (char)b : (char)next++;
        }

        return table;
    }
}
