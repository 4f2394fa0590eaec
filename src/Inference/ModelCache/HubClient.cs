using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Mesh.Inference.ModelCache;

/// <summary>One file of a Hub repository at a commit.</summary>
/// <param name="Path">The repository-relative path (validated by <see cref="RepoPaths"/>).</param>
/// <param name="Size">Size in bytes.</param>
/// <param name="Sha256">The LFS object's sha256 (lowercase hex); null for a file stored in git itself.</param>
/// <param name="GitBlobId">The git blob id (SHA-1 of <c>"blob {size}\0" + content</c>), which verifies a non-LFS file; null when not listed.</param>
public sealed record HubFile(string Path, long Size, string? Sha256, string? GitBlobId);

/// <summary>A repository's file list at one commit.</summary>
/// <param name="Commit">The commit the revision resolved to (the API's <c>sha</c>).</param>
/// <param name="Files">Every file, with sizes and checksums.</param>
public sealed record HubModelInfo(string Commit, IReadOnlyList<HubFile> Files);

/// <summary>
/// The two Hugging Face Hub HTTP endpoints a pull needs: the file list
/// (<c>GET /api/models/{repo}/revision/{revision}?blobs=true</c>: <c>sha</c> and <c>siblings[]</c> with
/// <c>rfilename</c>, <c>size</c>, <c>blobId</c> and, for LFS files, <c>lfs.sha256</c>/<c>lfs.size</c>, as
/// huggingface_hub's <c>model_info(files_metadata=True)</c> reads it) and the content URL
/// (<c>/{repo}/resolve/{commit}/{path}</c>, which redirects to a CDN). <c>HF_TOKEN</c> goes only to the
/// endpoint's own host.
/// </summary>
public sealed class HubClient
{
    private static readonly JsonSerializerOptions Json = new() { PropertyNameCaseInsensitive = true };
    private readonly HttpClient _http;
    private readonly ModelCacheOptions _options;

    /// <summary>Creates a client over <paramref name="http"/> (which must follow redirects).</summary>
    public HubClient(HttpClient http, ModelCacheOptions options)
    {
        _http = http;
        _options = options;
    }

    /// <summary>Lists the files of <paramref name="repository"/> at <paramref name="revision"/>.</summary>
    /// <exception cref="ModelCacheException">Not found (or gated without a token), the Hub unreachable, or an answer that is not the API's shape; the message says which.</exception>
    public async Task<HubModelInfo> GetModelInfoAsync(string repository, string revision, CancellationToken cancellation)
    {
        var uri = new Uri(_options.Endpoint, $"api/models/{repository}/revision/{Uri.EscapeDataString(revision)}?blobs=true");
        using var request = new HttpRequestMessage(HttpMethod.Get, uri);
        Authorize(request);
        HttpResponseMessage response;
        try
        {
            response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellation);
        }
        catch (HttpRequestException e)
        {
            throw new ModelCacheException($"hf:{repository}: cannot reach the Hub at {_options.Endpoint} ({e.Message}); set HF_ENDPOINT for a mirror, or use --offline with a cached model", e);
        }

        using (response)
        {
            if (response.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden)
            {
                var hint = _options.Token is null ? " (a private or gated repository needs HF_TOKEN)" : "";
                throw new ModelCacheException($"hf:{repository}@{revision}: the Hub answered {(int)response.StatusCode} {response.StatusCode}: no such repository or revision{hint}");
            }

            if (!response.IsSuccessStatusCode)
            {
                throw new ModelCacheException($"hf:{repository}@{revision}: the Hub answered {(int)response.StatusCode} {response.StatusCode} for {uri}");
            }

            if (response.Content.Headers.ContentLength > _options.MaxApiResponseBytes)
            {
                throw new ModelCacheException($"hf:{repository}: the file list is larger than {_options.MaxApiResponseBytes} bytes");
            }

            await using var body = await response.Content.ReadAsStreamAsync(cancellation);
            var bytes = new MemoryStream();
            var buffer = new byte[81920];
            int n;
            while ((n = await body.ReadAsync(buffer, cancellation)) > 0)
            {
                if (bytes.Length + n > _options.MaxApiResponseBytes)
                {
                    throw new ModelCacheException($"hf:{repository}: the file list is larger than {_options.MaxApiResponseBytes} bytes");
                }

                bytes.Write(buffer, 0, n);
            }

            return Parse(repository, revision, bytes.ToArray());
        }
    }

    /// <summary>The content URL of <paramref name="path"/> at <paramref name="commit"/>.</summary>
    public Uri ResolveUri(string repository, string commit, string path) =>
        new(_options.Endpoint, $"{repository}/resolve/{Uri.EscapeDataString(commit)}/{string.Join('/', path.Split('/').Select(Uri.EscapeDataString))}");

    /// <summary>Adds the token when the request goes to the configured endpoint's host.</summary>
    public void Authorize(HttpRequestMessage request)
    {
        if (_options.Token is { } token && request.RequestUri is { } uri && string.Equals(uri.Host, _options.Endpoint.Host, StringComparison.OrdinalIgnoreCase))
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }
    }

    private HubModelInfo Parse(string repository, string revision, byte[] json)
    {
        ModelInfoJson? info;
        try
        {
            info = JsonSerializer.Deserialize<ModelInfoJson>(json, Json);
        }
        catch (JsonException e)
        {
            throw new ModelCacheException($"hf:{repository}: the Hub's file list is not valid JSON ({e.Message})", e);
        }

        if (info?.Siblings is null)
        {
            throw new ModelCacheException($"hf:{repository}: the Hub's answer has no 'siblings' file list");
        }

        if (info.Siblings.Count > _options.MaxFiles * 64)
        {
            throw new ModelCacheException($"hf:{repository}: the repository lists {info.Siblings.Count} files, more than this cache reads");
        }

        var files = new List<HubFile>(info.Siblings.Count);
        foreach (var s in info.Siblings)
        {
            if (s.RFilename is null)
            {
                continue;
            }

            // The Hub is untrusted: an unsafe name is refused outright rather than skipped, so the user learns of it.
            RepoPaths.Validate(s.RFilename, $"hf:{repository}");
            var size = s.Lfs?.Size ?? s.Size ?? -1;
            var sha = s.Lfs?.Sha256?.ToLowerInvariant();
            if (sha is not null && (sha.Length != 64 || !sha.All(Uri.IsHexDigit)))
            {
                throw new ModelCacheException($"hf:{repository}: the Hub lists sha256 '{sha}' for {s.RFilename}, which is not 64 hex digits");
            }

            var blob = s.BlobId?.ToLowerInvariant();
            if (blob is not null && (blob.Length != 40 || !blob.All(Uri.IsHexDigit)))
            {
                blob = null;
            }

            files.Add(new HubFile(s.RFilename, size, sha, blob));
        }

        var commit = info.Sha is { Length: > 0 } c && c.All(char.IsAsciiLetterOrDigit) && c.Length <= 64 ? c.ToLowerInvariant() : revision;
        return new HubModelInfo(commit, files);
    }

    private sealed class ModelInfoJson
    {
        [JsonPropertyName("sha")]
        public string? Sha { get; set; }

        [JsonPropertyName("siblings")]
        public List<SiblingJson>? Siblings { get; set; }
    }

    private sealed class SiblingJson
    {
        [JsonPropertyName("rfilename")]
        public string? RFilename { get; set; }

        [JsonPropertyName("size")]
        public long? Size { get; set; }

        [JsonPropertyName("blobId")]
        public string? BlobId { get; set; }

        [JsonPropertyName("lfs")]
        public LfsJson? Lfs { get; set; }
    }

    private sealed class LfsJson
    {
        [JsonPropertyName("sha256")]
        public string? Sha256 { get; set; }

        [JsonPropertyName("size")]
        public long? Size { get; set; }
    }
}
