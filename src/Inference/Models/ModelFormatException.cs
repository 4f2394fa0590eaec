namespace Mesh.Inference.Models;

/// <summary>
/// A model or tokenizer file that cannot be used as it is: truncated, malformed, or of a kind Mesh does
/// not support. The message names the file and the field, so whoever supplied the file can fix it.
/// </summary>
public sealed class ModelFormatException : Exception
{
    /// <summary>
    /// A failure of <paramref name="path"/> at <paramref name="field"/>; the message reads <c>path: field: message</c>.
    /// </summary>
    public ModelFormatException(string path, string field, string message)
        : base($"{path}: {field}: {message}")
    {
        FilePath = path;
        Field = field;
    }

    /// <summary>The file that failed to load.</summary>
    public string FilePath { get; }

    /// <summary>The header field, metadata key or tensor name at fault.</summary>
    public string Field { get; }
}
