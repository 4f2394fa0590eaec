namespace Mesh.Inference.ModelCache;

/// <summary>
/// Validation of file names that come from a reference or from the Hub's file list before they become
/// paths under the cache: the Hub is untrusted input, and a name such as <c>../../.bashrc</c> must never
/// write outside the snapshot folder.
/// </summary>
public static class RepoPaths
{
    /// <summary>Longest accepted file path in a repository, in characters.</summary>
    public const int MaxPathLength = 1024;

    /// <summary>
    /// Refuses a repository-relative path that is empty, absolute, longer than <see cref="MaxPathLength"/>,
    /// has an empty, <c>.</c> or <c>..</c> segment, a segment over 255 characters, a backslash, a colon
    /// or a control character.
    /// </summary>
    /// <param name="path">The path, '/'-separated.</param>
    /// <param name="context">The reference or repository, for the message.</param>
    /// <exception cref="ModelCacheException">The path is unsafe; the message names it.</exception>
    public static void Validate(string path, string context)
    {
        if (!IsSafe(path))
        {
            throw new ModelCacheException($"{context}: refusing file name '{Printable(path)}': a repository file path must be relative, '/'-separated, without '.', '..' or empty segments, backslashes, colons or control characters, at most {MaxPathLength} characters");
        }
    }

    /// <summary>True when <paramref name="path"/> is safe to join under a snapshot folder (see <see cref="Validate"/>).</summary>
    public static bool IsSafe(string path)
    {
        if (string.IsNullOrEmpty(path) || path.Length > MaxPathLength || path[0] == '/')
        {
            return false;
        }

        foreach (var c in path)
        {
            if (c is '\\' or ':' || char.IsControl(c))
            {
                return false;
            }
        }

        foreach (var segment in path.Split('/'))
        {
            if (segment.Length is 0 or > 255 || segment is "." or "..")
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// Joins a validated repository path under <paramref name="root"/> and checks that the result stays
    /// inside it (a second guard behind <see cref="Validate"/>).
    /// </summary>
    public static string Under(string root, string path, string context)
    {
        Validate(path, context);
        var full = Path.GetFullPath(Path.Combine(root, path));
        var prefix = Path.GetFullPath(root).TrimEnd('/') + "/";
        return full.StartsWith(prefix, StringComparison.Ordinal)
            ? full
            : throw new ModelCacheException($"{context}: refusing file name '{Printable(path)}': it leaves the snapshot folder");
    }

    private static string Printable(string s) =>
        new([.. (s.Length > 200 ? s[..200] + "…" : s).Select(c => char.IsControl(c) ? '?' : c)]);
}
