using Microsoft.Extensions.Logging;

namespace Mesh.Inference.ModelCache;

/// <summary>
/// Turns what <c>--model</c> or <c>Inference:Models:N:Path</c> says into a path the loaders open: a
/// local path as it is, an <c>hf:</c> or <c>https://</c> reference through the cache (pulled when
/// missing, unless offline). Used by the host at start-up and by the command line.
/// </summary>
public static class ModelSource
{
    /// <summary>Resolves <paramref name="pathOrReference"/>.</summary>
    /// <param name="pathOrReference">A path or a reference (<see cref="ModelReference"/>).</param>
    /// <param name="options">Cache options; <see cref="ModelCacheOptions.FromEnvironment"/> when null.</param>
    /// <param name="logger">Progress lines (at most one per file every 5 s) and the resolved path.</param>
    /// <param name="cancellation">Stops a pull.</param>
    /// <returns>The path to load and the id to serve it under when none is configured (null for a local path: the loader's default).</returns>
    /// <exception cref="ModelCacheException">The reference cannot be resolved; the message says why.</exception>
    public static async Task<(string Path, string? DefaultId)> ResolveAsync(string pathOrReference, ModelCacheOptions? options, ILogger logger, CancellationToken cancellation)
    {
        if (!ModelReference.IsRemote(pathOrReference))
        {
            return (pathOrReference, null);
        }

        var reference = ModelReference.Parse(pathOrReference);
        options ??= ModelCacheOptions.FromEnvironment();
        using var http = CreateHttpClient();
        var puller = new ModelPuller(options, http);
        var lastLog = DateTime.MinValue;
        var result = await puller.PullAsync(reference, p =>
        {
            if (p.Done || DateTime.UtcNow - lastLog >= TimeSpan.FromSeconds(5))
            {
                lastLog = DateTime.UtcNow;
                logger.LogInformation("Fetching {File}: {Bytes} of {TotalBytes} bytes ({Rate:F1} MB/s)", p.File, p.Bytes, p.TotalBytes, p.BytesPerSecond / 1e6);
            }
        }, cancellation);
        logger.LogInformation("Model {Reference} is {Path} ({Files} files, {Fetched} bytes fetched)", reference.ToString(), result.ModelPath, result.Files.Count, result.BytesFetched);
        return (result.ModelPath, result.DefaultId);
    }

    /// <summary>
    /// The HTTP client pulls use: redirects followed (the Hub's resolve URLs redirect to a CDN; .NET drops
    /// the Authorization header on redirect), no overall timeout (large files; stalls are bounded per read
    /// by <see cref="ModelCacheOptions.StallTimeoutSeconds"/>), a connect timeout of 30 s.
    /// </summary>
    public static HttpClient CreateHttpClient() =>
        new(new SocketsHttpHandler { AllowAutoRedirect = true, MaxAutomaticRedirections = 10, ConnectTimeout = TimeSpan.FromSeconds(30), AutomaticDecompression = System.Net.DecompressionMethods.None })
        {
            Timeout = Timeout.InfiniteTimeSpan,
            DefaultRequestHeaders = { { "User-Agent", "mesh-inference" } },
        };
}
