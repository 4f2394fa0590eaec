using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;

namespace Mesh.Inference.ModelCache;

/// <summary>One file to fetch into the blob store.</summary>
/// <param name="Label">What the user knows it as (repository path or URL), for progress and messages.</param>
/// <param name="Uri">Where its content is (redirects are followed).</param>
/// <param name="Size">Its size in bytes.</param>
/// <param name="Sha256">Its sha256, when known before fetching (LFS files, pinned URLs).</param>
/// <param name="GitBlobId">Its git blob id, which verifies a file whose sha256 is not listed (small files kept in git).</param>
public sealed record BlobRequest(string Label, Uri Uri, long Size, string? Sha256, string? GitBlobId);

/// <summary>The outcome of fetching one blob.</summary>
/// <param name="Sha256">The verified content's sha256: its name in the blob store.</param>
/// <param name="BytesFetched">Bytes received over the network by this call (0 when the blob was already cached).</param>
/// <param name="Resumed">True when the download continued a <c>.partial</c> file with an HTTP Range request.</param>
public sealed record BlobResult(string Sha256, long BytesFetched, bool Resumed);

/// <summary>
/// Fetches a file into the content-addressed blob store: under a cross-process lock per blob, into
/// <c>blobs/sha256/&lt;key&gt;.partial</c>, resuming an existing partial with <c>Range: bytes=N-</c>
/// (a server that answers 200 instead of 206 restarts it), hashing while writing, and moving it to
/// <c>blobs/sha256/&lt;sha256&gt;</c> with an atomic rename only after the sha256 (or the git blob id)
/// and the size match. A mismatch removes the partial and names both sums; a cut connection keeps it
/// for the next attempt.
/// </summary>
public sealed class BlobDownloader
{
    /// <summary>Least time between two progress reports of one file.</summary>
    public static readonly TimeSpan ProgressInterval = TimeSpan.FromMilliseconds(500);

    private readonly HttpClient _http;
    private readonly ModelCacheLayout _layout;
    private readonly ModelCacheOptions _options;
    private readonly Action<HttpRequestMessage> _authorize;

    /// <summary>Creates a downloader writing into <paramref name="layout"/>.</summary>
    /// <param name="http">Follows redirects.</param>
    /// <param name="layout">The cache's folders.</param>
    /// <param name="options">Size caps and stall timeout.</param>
    /// <param name="authorize">Adds credentials to a request when they belong to its host.</param>
    public BlobDownloader(HttpClient http, ModelCacheLayout layout, ModelCacheOptions options, Action<HttpRequestMessage> authorize)
    {
        _http = http;
        _layout = layout;
        _options = options;
        _authorize = authorize;
    }

    /// <summary>Returns the cached blob of <paramref name="request"/>, fetching and verifying it when missing.</summary>
    /// <param name="request">The file.</param>
    /// <param name="progress">Throttled progress; may be null.</param>
    /// <param name="cancellation">Stops the download (the partial file stays for a resume).</param>
    /// <exception cref="ModelCacheException">Checksum or size mismatch, a cut connection, an HTTP error or a file over the size cap.</exception>
    public async Task<BlobResult> FetchAsync(BlobRequest request, Action<DownloadProgress>? progress, CancellationToken cancellation)
    {
        if (request.Sha256 is null && request.GitBlobId is null)
        {
            throw new ModelCacheException($"{request.Label}: no checksum is known for this file, so it cannot be verified; give its sha256");
        }

        if (request.Size < 0 || request.Size > _options.MaxFileBytes)
        {
            throw new ModelCacheException($"{request.Label}: size {request.Size} bytes is outside the limit of {_options.MaxFileBytes} bytes");
        }

        if (Cached(request) is { } hit)
        {
            return new BlobResult(hit, 0, false);
        }

        var key = request.Sha256 ?? "git-" + request.GitBlobId;
        using var held = await FileLock.AcquireAsync(_layout.LockPath(key), () => progress?.Invoke(new DownloadProgress(request.Label, 0, request.Size, 0, false)), cancellation);
        // Another task or process may have fetched it while this one waited for the lock.
        if (Cached(request) is { } fetched)
        {
            return new BlobResult(fetched, 0, false);
        }

        return await DownloadAsync(request, _layout.PartialPath(key), progress, cancellation);
    }

    private string? Cached(BlobRequest request)
    {
        if (request.Sha256 is { } sha)
        {
            return File.Exists(_layout.BlobPath(sha)) ? sha : null;
        }

        return _layout.ReadGitBlobMap(request.GitBlobId!) is { } mapped && File.Exists(_layout.BlobPath(mapped)) ? mapped : null;
    }

    private async Task<BlobResult> DownloadAsync(BlobRequest request, string partial, Action<DownloadProgress>? progress, CancellationToken cancellation)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(partial)!);
        using var sha256 = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        using var sha1 = IncrementalHash.CreateHash(HashAlgorithmName.SHA1);
        await using var file = new FileStream(partial, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 1 << 16, useAsync: true);
        var offset = file.Length;
        if (offset > request.Size)
        {
            offset = 0;
            file.SetLength(0);
        }

        StartHashes(request, sha256, sha1);
        if (offset > 0)
        {
            // Hash the resumed prefix from disk so the whole file is verified, not just the new bytes.
            await HashPrefixAsync(file, offset, sha256, sha1, cancellation);
        }

        var resumed = false;
        long fetched = 0;
        if (offset < request.Size)
        {
            using var message = new HttpRequestMessage(HttpMethod.Get, request.Uri);
            _authorize(message);
            if (offset > 0)
            {
                message.Headers.Range = new RangeHeaderValue(offset, null);
            }

            using var response = await SendAsync(request, message, cancellation);
            if (offset > 0 && response.StatusCode == HttpStatusCode.PartialContent && response.Content.Headers.ContentRange?.From == offset)
            {
                resumed = true;
            }
            else
            {
                // No range support (200), or a range other than the one asked: start over.
                offset = 0;
                file.SetLength(0);
                StartHashes(request, sha256, sha1);
            }

            file.Position = offset;
            fetched = await CopyAsync(request, response, file, offset, sha256, sha1, progress, cancellation);
            await file.FlushAsync(cancellation);
        }

        var length = file.Length;
        await file.DisposeAsync();
        var actual = Convert.ToHexStringLower(sha256.GetHashAndReset());
        var git = Convert.ToHexStringLower(sha1.GetHashAndReset());
        Verify(request, partial, length, actual, git);
        var blob = _layout.BlobPath(actual);
        File.Move(partial, blob, overwrite: true);
        if (request.Sha256 is null)
        {
            _layout.WriteGitBlobMap(request.GitBlobId!, actual);
        }

        return new BlobResult(actual, fetched, resumed);
    }

    private static void StartHashes(BlobRequest request, IncrementalHash sha256, IncrementalHash sha1)
    {
        sha256.GetHashAndReset();
        sha1.GetHashAndReset();
        // git's blob id is SHA-1 over "blob <size>\0" followed by the content.
        sha1.AppendData(Encoding.ASCII.GetBytes($"blob {request.Size}\0"));
    }

    private static async Task HashPrefixAsync(FileStream file, long length, IncrementalHash sha256, IncrementalHash sha1, CancellationToken cancellation)
    {
        file.Position = 0;
        var buffer = new byte[1 << 16];
        long left = length;
        while (left > 0)
        {
            var n = await file.ReadAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, left)), cancellation);
            if (n == 0)
            {
                break;
            }

            sha256.AppendData(buffer, 0, n);
            sha1.AppendData(buffer, 0, n);
            left -= n;
        }
    }

    private async Task<HttpResponseMessage> SendAsync(BlobRequest request, HttpRequestMessage message, CancellationToken cancellation)
    {
        HttpResponseMessage response;
        try
        {
            response = await _http.SendAsync(message, HttpCompletionOption.ResponseHeadersRead, cancellation);
        }
        catch (HttpRequestException e)
        {
            throw new ModelCacheException($"{request.Label}: cannot reach {request.Uri.Host} ({e.Message})", e, resumable: true);
        }

        if (!response.IsSuccessStatusCode)
        {
            var status = response.StatusCode;
            response.Dispose();
            throw new ModelCacheException($"{request.Label}: {request.Uri} answered {(int)status} {status}");
        }

        return response;
    }

    private async Task<long> CopyAsync(BlobRequest request, HttpResponseMessage response, FileStream file, long offset, IncrementalHash sha256, IncrementalHash sha1,
        Action<DownloadProgress>? progress, CancellationToken cancellation)
    {
        var started = Stopwatch.GetTimestamp();
        var lastReport = started;
        long received = 0;
        var buffer = new byte[1 << 16];
        using var stall = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
        try
        {
            await using var body = await response.Content.ReadAsStreamAsync(cancellation);
            while (true)
            {
                stall.CancelAfter(TimeSpan.FromSeconds(_options.StallTimeoutSeconds));
                var n = await body.ReadAsync(buffer, stall.Token);
                if (n == 0)
                {
                    break;
                }

                if (offset + received + n > request.Size)
                {
                    throw new ModelCacheException($"{request.Label}: the server sent more than the listed {request.Size} bytes");
                }

                await file.WriteAsync(buffer.AsMemory(0, n), cancellation);
                sha256.AppendData(buffer, 0, n);
                sha1.AppendData(buffer, 0, n);
                received += n;
                if (progress is not null && Stopwatch.GetElapsedTime(lastReport) >= ProgressInterval)
                {
                    lastReport = Stopwatch.GetTimestamp();
                    progress(new DownloadProgress(request.Label, offset + received, request.Size, received / Math.Max(1e-3, Stopwatch.GetElapsedTime(started).TotalSeconds), false));
                }
            }
        }
        catch (Exception e) when (e is IOException or HttpRequestException || (e is OperationCanceledException && !cancellation.IsCancellationRequested))
        {
            await file.FlushAsync(CancellationToken.None);
            throw new ModelCacheException($"{request.Label}: the download was cut after {offset + received} of {request.Size} bytes ({e.Message}); the partial file is kept and the next pull resumes it", e, resumable: true);
        }

        if (offset + received < request.Size)
        {
            await file.FlushAsync(CancellationToken.None);
            throw new ModelCacheException($"{request.Label}: the connection ended after {offset + received} of {request.Size} bytes; the partial file is kept and the next pull resumes it", resumable: true);
        }

        progress?.Invoke(new DownloadProgress(request.Label, offset + received, request.Size, received / Math.Max(1e-3, Stopwatch.GetElapsedTime(started).TotalSeconds), true));
        return received;
    }

    private static void Verify(BlobRequest request, string partial, long length, string sha256, string gitBlobId)
    {
        string? problem = null;
        if (length != request.Size)
        {
            problem = $"size mismatch: expected {request.Size} bytes, got {length}";
        }
        else if (request.Sha256 is { } expected && expected != sha256)
        {
            problem = $"sha256 mismatch: expected {expected}, got {sha256}";
        }
        else if (request.Sha256 is null && request.GitBlobId != gitBlobId)
        {
            problem = $"git blob id mismatch: expected {request.GitBlobId}, got {gitBlobId} (sha256 {sha256})";
        }

        if (problem is not null)
        {
            File.Delete(partial);
            throw new ModelCacheException($"{request.Label}: refusing a corrupt download, {problem}; the partial file was removed");
        }
    }
}
