using System.Text.RegularExpressions;

namespace Mesh.Inference.ModelCache;

/// <summary>Where a model comes from.</summary>
public enum ModelSourceKind
{
    /// <summary>A file or directory on this machine, used as it is.</summary>
    Local,

    /// <summary>A Hugging Face Hub repository (<c>hf:org/repo[:file-or-quant][@revision]</c>).</summary>
    HuggingFace,

    /// <summary>A plain <c>https://</c> (or <c>http://</c>) URL whose sha256 is given.</summary>
    Url,
}

/// <summary>
/// A parsed model reference, as <c>pull</c> and <c>--model</c> accept it:
/// <list type="bullet">
/// <item><c>hf:&lt;org&gt;/&lt;repo&gt;[:&lt;file or quant&gt;][@&lt;revision&gt;][#sha256=&lt;hex&gt;]</c>: a Hub repository;
/// the selector is a file path in the repository (<c>stories260K/tok512.bin</c>) or a quantization
/// name (<c>Q4_K_M</c>, matched against the repository's <c>*.gguf</c> files as llama.cpp's <c>-hf</c>
/// does); without one, a Hugging Face model directory is fetched whole (or the repository's only GGUF).
/// The revision is a branch, tag or commit (default <c>main</c>).</item>
/// <item><c>https://host/path/file.gguf#sha256=&lt;hex&gt;</c>: a URL; the sha256 is required (or given
/// with <c>pull --sha256</c>) because a plain URL carries no checksum.</item>
/// <item>anything else: a local path.</item>
/// </list>
/// A <c>#sha256=</c> pin on a Hub reference must equal the sha256 the Hub lists for the file.
/// </summary>
/// <param name="Kind">Where it comes from.</param>
/// <param name="Text">The reference as written, without its sha256 pin.</param>
/// <param name="Repository">Hub repository id <c>org/repo</c>; null otherwise.</param>
/// <param name="Selector">Hub file path or quantization name; null for the whole repository.</param>
/// <param name="Revision">Hub branch, tag or 40-hex commit; <c>main</c> when not given.</param>
/// <param name="Url">The URL of a <see cref="ModelSourceKind.Url"/> reference.</param>
/// <param name="Sha256">The pinned sha256 (64 lowercase hex digits), or null.</param>
/// <param name="LocalPath">The path of a <see cref="ModelSourceKind.Local"/> reference.</param>
public sealed partial record ModelReference(
    ModelSourceKind Kind, string Text, string? Repository, string? Selector, string Revision, Uri? Url, string? Sha256, string? LocalPath)
{
    /// <summary>The Hub's default branch.</summary>
    public const string DefaultRevision = "main";

    private const string HubPrefix = "hf:";
    private const string ShaPin = "#sha256=";

    /// <summary>True when <paramref name="text"/> names a remote model (<c>hf:</c>, <c>https://</c>, <c>http://</c>), which must go through the cache.</summary>
    public static bool IsRemote(string text) =>
        text.StartsWith(HubPrefix, StringComparison.Ordinal)
        || text.StartsWith("https://", StringComparison.OrdinalIgnoreCase)
        || text.StartsWith("http://", StringComparison.OrdinalIgnoreCase);

    /// <summary>Parses a reference.</summary>
    /// <param name="text">The reference.</param>
    /// <param name="sha256">A sha256 given separately (<c>--sha256</c>); must agree with a <c>#sha256=</c> pin.</param>
    /// <exception cref="ModelCacheException">Malformed: the message shows the accepted forms.</exception>
    public static ModelReference Parse(string text, string? sha256 = null)
    {
        ArgumentNullException.ThrowIfNull(text);
        text = text.Trim();
        if (text.Length == 0)
        {
            throw new ModelCacheException("empty model reference: give hf:<org>/<repo>[:<file or quant>][@<revision>], https://…#sha256=<hex> or a path");
        }

        if (!IsRemote(text))
        {
            return new ModelReference(ModelSourceKind.Local, text, null, null, DefaultRevision, null, null, text);
        }

        var pin = NormalizeSha(sha256, text);
        var hash = text.IndexOf(ShaPin, StringComparison.OrdinalIgnoreCase);
        if (hash >= 0)
        {
            var inline = NormalizeSha(text[(hash + ShaPin.Length)..], text);
            if (pin is not null && pin != inline)
            {
                throw new ModelCacheException($"{text}: the #sha256 pin and --sha256 differ ({inline} vs {pin})");
            }

            pin = inline;
            text = text[..hash];
        }

        return text.StartsWith(HubPrefix, StringComparison.Ordinal) ? ParseHub(text, pin) : ParseUrl(text, pin);
    }

    /// <summary>The reference as <c>pull</c> would print it, with its pin.</summary>
    public override string ToString() => Sha256 is null ? Text : $"{Text}{ShaPin}{Sha256}";

    private static ModelReference ParseHub(string text, string? pin)
    {
        var body = text[HubPrefix.Length..];
        var revision = DefaultRevision;
        var at = body.LastIndexOf('@');
        if (at >= 0)
        {
            revision = body[(at + 1)..];
            body = body[..at];
            if (!RevisionPattern().IsMatch(revision) || revision.Contains("..", StringComparison.Ordinal))
            {
                throw new ModelCacheException($"{text}: revision '{revision}' is not a branch, tag or commit name (letters, digits, '.', '_', '-', '/')");
            }
        }

        string? selector = null;
        var colon = body.IndexOf(':', StringComparison.Ordinal);
        if (colon >= 0)
        {
            selector = body[(colon + 1)..];
            body = body[..colon];
            if (selector.Length == 0)
            {
                selector = null;
            }
            else
            {
                RepoPaths.Validate(selector, text);
            }
        }

        if (!RepositoryPattern().IsMatch(body) || body.Contains("..", StringComparison.Ordinal))
        {
            throw new ModelCacheException($"{text}: '{body}' is not a Hub repository id: write hf:<org>/<repo>[:<file or quant>][@<revision>], e.g. hf:karpathy/tinyllamas:stories260K/stories260K.bin");
        }

        return new ModelReference(ModelSourceKind.HuggingFace, text, body, selector, revision, null, pin, null);
    }

    private static ModelReference ParseUrl(string text, string? pin)
    {
        if (!Uri.TryCreate(text, UriKind.Absolute, out var uri) || uri.Scheme is not ("https" or "http") || string.IsNullOrEmpty(uri.Host))
        {
            throw new ModelCacheException($"{text}: not a valid http(s) URL");
        }

        if (pin is null)
        {
            throw new ModelCacheException($"{text}: a URL needs its sha256 to be verified: append #sha256=<64 hex digits> or pass --sha256");
        }

        var name = Uri.UnescapeDataString(uri.Segments[^1]);
        RepoPaths.Validate(name, text);
        return new ModelReference(ModelSourceKind.Url, text, null, name, DefaultRevision, uri, pin, null);
    }

    private static string? NormalizeSha(string? sha, string text)
    {
        if (sha is null)
        {
            return null;
        }

        sha = sha.Trim().ToLowerInvariant();
        return ShaPattern().IsMatch(sha) ? sha : throw new ModelCacheException($"{text}: sha256 '{sha}' is not 64 hex digits");
    }

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]{0,95}/[A-Za-z0-9][A-Za-z0-9._-]{0,95}$")]
    private static partial Regex RepositoryPattern();

    [GeneratedRegex("^[A-Za-z0-9._/-]{1,200}$")]
    private static partial Regex RevisionPattern();

    [GeneratedRegex("^[0-9a-f]{64}$")]
    private static partial Regex ShaPattern();
}
