namespace Mesh.Inference.ModelCache;

/// <summary>One file of a pull.</summary>
/// <param name="File">Repository path (Hub) or file name (URL).</param>
/// <param name="Path">The snapshot entry on disk (a link to the blob).</param>
/// <param name="Sha256">The verified sha256.</param>
/// <param name="Bytes">Size in bytes.</param>
/// <param name="BytesFetched">Bytes this pull received for it (0: already cached).</param>
public sealed record PulledFile(string File, string Path, string Sha256, long Bytes, long BytesFetched);

/// <summary>The outcome of a pull.</summary>
/// <param name="ModelPath">What <c>--model</c> loads: the selected file, or the snapshot directory of a Hugging Face model directory.</param>
/// <param name="Commit">The commit (Hub) or sha256 (URL) the files belong to.</param>
/// <param name="Files">Every file of the reference.</param>
/// <param name="DefaultId">The model id to serve it under when none is configured: the file name without extension, or the repository name for a directory.</param>
public sealed record PullResult(string ModelPath, string Commit, IReadOnlyList<PulledFile> Files, string DefaultId)
{
    /// <summary>Bytes received over the network by this pull.</summary>
    public long BytesFetched => Files.Sum(f => f.BytesFetched);
}

/// <summary>
/// Resolves a <see cref="ModelReference"/> to files in the cache, fetching what is missing: the Hub's
/// file list, the selection (<see cref="HubFileSelector"/>), each blob (<see cref="BlobDownloader"/>,
/// retried from its partial file when a transfer is cut), then the snapshot links and the revision's
/// ref. Offline, it reads only the cache and refuses with a message naming the switch and the command
/// that fills the cache.
/// </summary>
public sealed class ModelPuller
{
    private readonly ModelCacheOptions _options;
    private readonly HttpClient _http;
    private readonly HubClient _hub;
    private readonly BlobDownloader _downloader;

    /// <summary>Creates a puller; <paramref name="http"/> must follow redirects (the default handler does).</summary>
    public ModelPuller(ModelCacheOptions options, HttpClient http)
    {
        _options = options;
        _http = http;
        Layout = new ModelCacheLayout(options.Home);
        _hub = new HubClient(http, options);
        _downloader = new BlobDownloader(http, Layout, options, _hub.Authorize);
    }

    /// <summary>The cache this puller fills.</summary>
    public ModelCacheLayout Layout { get; }

    /// <summary>How many times one file is attempted when its transfer is cut (each attempt resumes the last).</summary>
    public int DownloadAttempts { get; init; } = 3;

    /// <summary>Fetches (or finds) <paramref name="reference"/> in the cache.</summary>
    /// <param name="reference">A Hub or URL reference.</param>
    /// <param name="progress">Per-file progress, throttled; may be null.</param>
    /// <param name="cancellation">Stops the pull; partial files stay for a resume.</param>
    /// <exception cref="ModelCacheException">See <see cref="ModelCacheException"/>.</exception>
    public Task<PullResult> PullAsync(ModelReference reference, Action<DownloadProgress>? progress, CancellationToken cancellation) => reference.Kind switch
    {
        ModelSourceKind.HuggingFace => _options.Offline ? Task.FromResult(FromCache(reference)) : PinnedFromCache(reference) is { } cached ? Task.FromResult(cached) : PullHubAsync(reference, progress, cancellation),
        ModelSourceKind.Url => PullUrlAsync(reference, progress, cancellation),
        _ => throw new ArgumentException($"{reference.Text} is a local path; nothing to pull", nameof(reference)),
    };

    private async Task<PullResult> PullHubAsync(ModelReference reference, Action<DownloadProgress>? progress, CancellationToken cancellation)
    {
        var info = await _hub.GetModelInfoAsync(reference.Repository!, reference.Revision, cancellation);
        var selection = HubFileSelector.Select(reference, info.Files);
        CheckBounds(reference, selection.Files);
        if (reference.Sha256 is { } pin && selection.Files[0].Sha256 is { } listed && listed != pin)
        {
            throw new ModelCacheException($"{reference.Text}: the Hub lists sha256 {listed} for {selection.Files[0].Path}, not the pinned {pin}: the repository changed; check it and update the pin");
        }

        var commit = RepoPaths.IsSafe(info.Commit) && !info.Commit.Contains('/', StringComparison.Ordinal) ? info.Commit : reference.Revision.Replace('/', '_');
        var pulled = new List<PulledFile>();
        foreach (var file in selection.Files)
        {
            var request = new BlobRequest($"{reference.Repository}/{file.Path}", _hub.ResolveUri(reference.Repository!, info.Commit, file.Path), file.Size, file.Sha256, file.GitBlobId);
            var blob = await FetchWithRetriesAsync(request, progress, cancellation);
            if (reference.Sha256 is { } pinned && selection.Files.Count == 1 && blob.Sha256 != pinned)
            {
                throw new ModelCacheException($"{reference.Text}: {file.Path} has sha256 {blob.Sha256}, not the pinned {pinned}");
            }

            pulled.Add(new PulledFile(file.Path, Layout.Link(reference, commit, file.Path, blob.Sha256), blob.Sha256, file.Size, blob.BytesFetched));
        }

        Layout.WriteRef(reference, commit);
        return Result(reference, commit, selection, pulled);
    }

    private async Task<PullResult> PullUrlAsync(ModelReference reference, Action<DownloadProgress>? progress, CancellationToken cancellation)
    {
        var sha = reference.Sha256!;
        var name = reference.Selector!;
        if (!File.Exists(Layout.BlobPath(sha)))
        {
            if (_options.Offline)
            {
                throw OfflineMiss(reference);
            }

            var size = await ContentLengthAsync(reference, cancellation);
            var blob = await FetchWithRetriesAsync(new BlobRequest(reference.Text, reference.Url!, size, sha, null), progress, cancellation);
            var path = Layout.Link(reference, sha, name, blob.Sha256);
            return new PullResult(path, sha, [new PulledFile(name, path, sha, size, blob.BytesFetched)], Path.GetFileNameWithoutExtension(name));
        }

        var link = Layout.Link(reference, sha, name, sha);
        return new PullResult(link, sha, [new PulledFile(name, link, sha, new FileInfo(Layout.BlobPath(sha)).Length, 0)], Path.GetFileNameWithoutExtension(name));
    }

    /// <summary>A reference pinned by sha256 whose file is cached is complete: no need to ask the Hub (pods restarting, scripts re-run).</summary>
    private PullResult? PinnedFromCache(ModelReference reference)
    {
        if (reference.Sha256 is null || Layout.ReadRef(reference) is null)
        {
            return null;
        }

        try
        {
            return FromCache(reference);
        }
        catch (ModelCacheException)
        {
            return null;
        }
    }

    private PullResult FromCache(ModelReference reference)
    {
        var commit = Layout.ReadRef(reference)
            ?? (Directory.Exists(Layout.SnapshotDirectory(reference, reference.Revision)) ? reference.Revision : null)
            ?? throw OfflineMiss(reference);
        var snapshot = Layout.SnapshotDirectory(reference, commit);
        if (!Directory.Exists(snapshot))
        {
            throw OfflineMiss(reference);
        }

        // The snapshot's present files stand in for the Hub's list: the same selection rules apply.
        var present = Directory.EnumerateFiles(snapshot, "*", SearchOption.AllDirectories)
            .Where(f => !f.EndsWith(".tmp", StringComparison.Ordinal) && File.Exists(f))
            .Select(f => (Info: new FileInfo(f), Relative: Path.GetRelativePath(snapshot, f).Replace('\\', '/')))
            .Select(f => new HubFile(f.Relative, ModelCacheLayout.FileSize(f.Info.FullName), Path.GetFileName(f.Info.LinkTarget ?? ""), null))
            .ToList();
        HubSelection selection;
        try
        {
            selection = HubFileSelector.Select(reference, present);
        }
        catch (ModelCacheException e)
        {
            throw new ModelCacheException($"{OfflineMiss(reference).Message} (in the cached snapshot: {e.Message})");
        }

        if (reference.Sha256 is { } pin && selection.Files[0].Sha256 != pin)
        {
            throw new ModelCacheException($"{reference.Text}: the cached {selection.Files[0].Path} has sha256 {selection.Files[0].Sha256}, not the pinned {pin}");
        }

        var files = selection.Files.Select(f => new PulledFile(f.Path, Path.Combine(snapshot, f.Path), f.Sha256!, f.Size, 0)).ToList();
        return Result(reference, commit, selection, files);
    }

    private PullResult Result(ModelReference reference, string commit, HubSelection selection, List<PulledFile> files)
    {
        var snapshot = Layout.SnapshotDirectory(reference, commit);
        return selection.ModelPath is { } model
            ? new PullResult(RepoPaths.Under(snapshot, model, reference.Text), commit, files, Path.GetFileNameWithoutExtension(model))
            : new PullResult(snapshot, commit, files, reference.Repository!.Split('/')[1]);
    }

    private async Task<BlobResult> FetchWithRetriesAsync(BlobRequest request, Action<DownloadProgress>? progress, CancellationToken cancellation)
    {
        var partial = Layout.PartialPath(request.Sha256 ?? "git-" + request.GitBlobId);
        long PartialLength() => File.Exists(partial) ? new FileInfo(partial).Length : 0;
        long fetched = 0;
        for (var attempt = 1; ; attempt++)
        {
            var before = PartialLength();
            try
            {
                var blob = await _downloader.FetchAsync(request, progress, cancellation);
                return blob with { BytesFetched = fetched + blob.BytesFetched };
            }
            catch (ModelCacheException e) when (e.Resumable && attempt < DownloadAttempts)
            {
                // What the cut attempt wrote counts as fetched; the next attempt resumes after it.
                fetched += Math.Max(0, PartialLength() - before);
                await Task.Delay(TimeSpan.FromMilliseconds(250 * attempt), cancellation);
            }
        }
    }

    private async Task<long> ContentLengthAsync(ModelReference reference, CancellationToken cancellation)
    {
        using var head = new HttpRequestMessage(HttpMethod.Head, reference.Url);
        try
        {
            using var response = await _http.SendAsync(head, HttpCompletionOption.ResponseHeadersRead, cancellation);
            if (!response.IsSuccessStatusCode)
            {
                throw new ModelCacheException($"{reference.Text}: the server answered {(int)response.StatusCode} {response.StatusCode}");
            }

            return response.Content.Headers.ContentLength
                ?? throw new ModelCacheException($"{reference.Text}: the server does not say the file's size (no Content-Length), so the download cannot be bounded or resumed");
        }
        catch (HttpRequestException e)
        {
            throw new ModelCacheException($"{reference.Text}: cannot reach {reference.Url!.Host} ({e.Message})", e);
        }
    }

    private void CheckBounds(ModelReference reference, IReadOnlyList<HubFile> files)
    {
        if (files.Count > _options.MaxFiles)
        {
            throw new ModelCacheException($"{reference.Text}: {files.Count} files selected, more than the limit of {_options.MaxFiles}; name one file or quant with :<file or quant>");
        }

        if (files.FirstOrDefault(f => f.Size < 0 || f.Size > _options.MaxFileBytes) is { } big)
        {
            throw new ModelCacheException($"{reference.Text}: {big.Path} is {big.Size} bytes, outside the limit of {_options.MaxFileBytes} bytes per file");
        }

        var total = files.Sum(f => f.Size);
        if (total > _options.MaxTotalBytes)
        {
            throw new ModelCacheException($"{reference.Text}: the selected files total {total} bytes, more than the limit of {_options.MaxTotalBytes}");
        }
    }

    private ModelCacheException OfflineMiss(ModelReference reference) =>
        new($"offline ({ModelCacheOptions.OfflineSwitch()}): {reference} is not in the cache at {Layout.Home}; run `Mesh.Inference pull {reference}` where the network is reachable, or turn offline mode off");
}
