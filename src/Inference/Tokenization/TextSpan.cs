namespace Mesh.Inference.Tokenization;

/// <summary>
/// A range of a string in UTF-16 code units: <see cref="Start"/> (0-based) and <see cref="Length"/>. Used
/// to mark the untrusted text (message contents) inside a prompt the server rendered, so that
/// <see cref="ITokenizer.EncodeRendered"/> encodes it as plain text.
/// </summary>
public readonly record struct TextSpan(int Start, int Length)
{
    /// <summary>One past the last code unit.</summary>
    public int End => Start + Length;
}
