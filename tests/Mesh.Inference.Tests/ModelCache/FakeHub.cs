using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Mesh.Inference.Tests.ModelCache;

/// <summary>
/// A Hugging Face Hub on loopback (Kestrel) with the shapes a pull reads:
/// <c>GET /api/models/{org}/{repo}[/revision/{rev}]</c> answers <c>sha</c> and <c>siblings[]</c>
/// (<c>rfilename</c>, <c>size</c>, <c>blobId</c>, and <c>lfs.sha256</c>/<c>lfs.size</c> for LFS files);
/// <c>GET /{org}/{repo}/resolve/{rev}/{path}</c> serves small files itself and answers 302 to
/// <c>/cdn/{sha256}</c> for LFS files, which serves bytes with HTTP Range. Faults on demand: a connection
/// cut after N bytes of a body, corrupted bodies, a required token, a gate that holds content
/// responses. Counts every request and every body byte sent.
/// </summary>
internal sealed class FakeHub : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentDictionary<string, Repo> _repos = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, byte[]> _blobs = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, long> _cutAfter = new(StringComparer.Ordinal);
    private long _bytesServed;
    private int _apiRequests;

    private FakeHub(WebApplication app) => _app = app;

    /// <summary>The hub's base URL (HF_ENDPOINT).</summary>
    public Uri Endpoint { get; private set; } = null!;

    /// <summary>Content requests (resolve and CDN), with their Range header ("" when none).</summary>
    public ConcurrentQueue<(string Path, string Range)> ContentRequests { get; } = new();

    /// <summary>Authorization headers seen on API requests.</summary>
    public ConcurrentQueue<string> Authorizations { get; } = new();

    public int ApiRequests => Volatile.Read(ref _apiRequests);

    public long BytesServed => Interlocked.Read(ref _bytesServed);

    /// <summary>When set, API requests without this Bearer token get 401.</summary>
    public string? RequiredToken { get; set; }

    /// <summary>When set, content responses wait for it before sending a byte.</summary>
    public TaskCompletionSource? ContentGate { get; set; }

    /// <summary>sha256s whose served body is altered (the listing keeps the true sum).</summary>
    public ConcurrentDictionary<string, bool> Corrupt { get; } = new(StringComparer.Ordinal);

    public static async Task<FakeHub> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        var app = builder.Build();
        var hub = new FakeHub(app);
        app.MapGet("/api/models/{org}/{repo}", (string org, string repo, HttpContext c) => hub.Api($"{org}/{repo}", "main", c));
        app.MapGet("/api/models/{org}/{repo}/revision/{rev}", (string org, string repo, string rev, HttpContext c) => hub.Api($"{org}/{repo}", rev, c));
        app.MapGet("/{org}/{repo}/resolve/{rev}/{**path}", (string org, string repo, string rev, string path, HttpContext c) => hub.Resolve($"{org}/{repo}", rev, path, c));
        app.MapMethods("/cdn/{sha}", ["GET", "HEAD"], (string sha, HttpContext c) => hub.Serve(sha, $"/cdn/{sha}", c));
        await app.StartAsync();
        hub.Endpoint = new Uri(app.Urls.First() + "/");
        return hub;
    }

    /// <summary>Adds a repository; files named in <paramref name="inGit"/> are served as plain git files (no LFS sha256), the rest as LFS.</summary>
    public string AddRepo(string id, IReadOnlyDictionary<string, byte[]> files, params string[] inGit)
    {
        var commit = Convert.ToHexStringLower(SHA1.HashData(Encoding.UTF8.GetBytes(id + files.Count)));
        var entries = new List<RepoFile>();
        foreach (var (path, bytes) in files)
        {
            var sha = Sha256(bytes);
            _blobs[sha] = bytes;
            entries.Add(new RepoFile(path, bytes.Length, sha, GitBlobId(bytes), !inGit.Contains(path)));
        }

        _repos[id] = new Repo(commit, entries);
        return commit;
    }

    /// <summary>The first content response for <paramref name="sha256"/> drops the connection after <paramref name="bytes"/> body bytes.</summary>
    public void CutOnce(string sha256, long bytes) => _cutAfter[sha256] = bytes;

    public static string Sha256(byte[] bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));

    public static byte[] RandomBytes(int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    public async ValueTask DisposeAsync()
    {
        ContentGate?.TrySetResult();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    private static string GitBlobId(byte[] bytes) =>
        Convert.ToHexStringLower(SHA1.HashData([.. Encoding.ASCII.GetBytes($"blob {bytes.Length}\0"), .. bytes]));

    private IResult Api(string id, string revision, HttpContext context)
    {
        Interlocked.Increment(ref _apiRequests);
        var authorization = context.Request.Headers.Authorization.ToString();
        Authorizations.Enqueue(authorization);
        if (RequiredToken is { } token && authorization != $"Bearer {token}")
        {
            return Results.Json(new { error = "Invalid credentials" }, statusCode: 401);
        }

        if (!_repos.TryGetValue(id, out var repo) || (revision != "main" && revision != repo.Commit))
        {
            return Results.Json(new { error = "Repository not found" }, statusCode: 404);
        }

        var siblings = repo.Files.Select(f => f.Lfs
            ? (object)new { rfilename = f.Path, size = f.Size, blobId = f.GitBlobId, lfs = new { sha256 = f.Sha256, size = f.Size, pointerSize = 134 } }
            : new { rfilename = f.Path, size = f.Size, blobId = f.GitBlobId });
        return Results.Text(JsonSerializer.Serialize(new { id, modelId = id, sha = repo.Commit, siblings }), "application/json");
    }

    private async Task Resolve(string id, string revision, string path, HttpContext context)
    {
        if (!_repos.TryGetValue(id, out var repo) || (revision != "main" && revision != repo.Commit) || repo.Files.FirstOrDefault(f => f.Path == path) is not { } file)
        {
            context.Response.StatusCode = 404;
            return;
        }

        if (file.Lfs)
        {
            // As the Hub: LFS content lives on a CDN the resolve URL redirects to.
            ContentRequests.Enqueue(($"resolve/{path}", context.Request.Headers.Range.ToString()));
            context.Response.Redirect($"/cdn/{file.Sha256}");
            return;
        }

        await Serve(file.Sha256, $"resolve/{path}", context);
    }

    private async Task Serve(string sha, string label, HttpContext context)
    {
        if (!_blobs.TryGetValue(sha, out var bytes))
        {
            context.Response.StatusCode = 404;
            return;
        }

        if (HttpMethods.IsHead(context.Request.Method))
        {
            context.Response.ContentLength = bytes.Length;
            return;
        }

        ContentRequests.Enqueue((label, context.Request.Headers.Range.ToString()));
        if (ContentGate is { } gate)
        {
            await gate.Task;
        }

        if (Corrupt.ContainsKey(sha))
        {
            bytes = (byte[])bytes.Clone();
            bytes[bytes.Length / 2] ^= 0xFF;
        }

        long from = 0;
        var range = context.Request.Headers.Range.ToString();
        if (range.StartsWith("bytes=", StringComparison.Ordinal) && range.EndsWith('-') && long.TryParse(range[6..^1], out var start) && start < bytes.Length)
        {
            from = start;
            context.Response.StatusCode = 206;
            context.Response.Headers.ContentRange = $"bytes {from}-{bytes.Length - 1}/{bytes.Length}";
        }

        context.Response.ContentLength = bytes.Length - from;
        context.Response.ContentType = "application/octet-stream";
        var end = bytes.Length;
        var cut = _cutAfter.TryRemove(sha, out var after);
        if (cut)
        {
            end = (int)Math.Min(end, from + after);
        }

        for (var at = (int)from; at < end; at += 16384)
        {
            var n = Math.Min(16384, end - at);
            await context.Response.Body.WriteAsync(bytes.AsMemory(at, n));
            Interlocked.Add(ref _bytesServed, n);
        }

        if (cut)
        {
            await context.Response.Body.FlushAsync();
            context.Abort();
        }
    }

    private sealed record RepoFile(string Path, long Size, string Sha256, string GitBlobId, bool Lfs);

    private sealed record Repo(string Commit, List<RepoFile> Files);
}
