using System.Globalization;

namespace Mesh.Inference.Tokenization;

/// <summary>The text form of byte-fallback pieces: <c>&lt;0x0A&gt;</c> stands for the byte 0x0A.</summary>
internal static class BytePiece
{
    public static bool TryParse(string piece, out byte value)
    {
        value = 0;
        return piece.Length == 6 && piece.StartsWith("<0x", StringComparison.Ordinal) && piece[5] == '>' &&
               byte.TryParse(piece.AsSpan(3, 2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out value);
    }
}
