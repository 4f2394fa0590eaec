namespace Mesh.Inference.ModelCache;

/// <summary>One cached model snapshot, as <c>list</c> prints it.</summary>
/// <param name="Source">The reference without file selector: <c>hf:org/repo</c> or the URL.</param>
/// <param name="Revisions">The revisions (branches, tags) that point at this snapshot's commit.</param>
/// <param name="Commit">The commit (Hub) or the file's sha256 (URL).</param>
/// <param name="Path">The snapshot directory.</param>
/// <param name="Files">Repository-relative file paths and sizes in bytes.</param>
public sealed record CachedSnapshot(string Source, IReadOnlyList<string> Revisions, string Commit, string Path, IReadOnlyList<(string File, long Bytes)> Files);

/// <summary>
/// The cache's folders, in the manner of huggingface_hub's cache:
/// <code>
/// $MESH_HOME/blobs/sha256/&lt;sha256&gt;                 verified content, named by its sha256
/// $MESH_HOME/blobs/sha256/&lt;key&gt;.partial              a download in progress (resumable)
/// $MESH_HOME/blobs/git/&lt;git blob id&gt;                 sha256 of a verified small (non-LFS) Hub file
/// $MESH_HOME/locks/&lt;key&gt;.lock                         one fetcher per blob, across processes
/// $MESH_HOME/models/hf--&lt;org&gt;--&lt;repo&gt;/source           "hf:org/repo"
///                       refs/&lt;revision&gt;                 the commit the revision resolved to
///                       snapshots/&lt;commit&gt;/&lt;file&gt;       symbolic link to ../../blobs/sha256/&lt;sha256&gt;
/// $MESH_HOME/models/url--&lt;host&gt;/snapshots/&lt;sha256&gt;/&lt;file name&gt;   the same for URLs
/// </code>
/// Snapshot entries are relative symbolic links, so a model directory keeps its file names (which the
/// loaders read) while identical files in several repositories or revisions are stored once.
/// </summary>
public sealed class ModelCacheLayout
{
    /// <summary>Creates the layout rooted at <paramref name="home"/> (created on first write).</summary>
    public ModelCacheLayout(string home) => Home = Path.GetFullPath(home);

    /// <summary>The cache root.</summary>
    public string Home { get; }

    /// <summary>Where the verified blob with this sha256 lives.</summary>
    public string BlobPath(string sha256) => Path.Combine(Home, "blobs", "sha256", sha256);

    /// <summary>Where the partial download of <paramref name="key"/> lives.</summary>
    public string PartialPath(string key) => Path.Combine(Home, "blobs", "sha256", key + ".partial");

    /// <summary>The lock file of <paramref name="key"/>.</summary>
    public string LockPath(string key) => Path.Combine(Home, "locks", key + ".lock");

    /// <summary>The folder of a Hub repository or URL host.</summary>
    public string ModelDirectory(ModelReference reference) => reference.Kind switch
    {
        ModelSourceKind.HuggingFace => Path.Combine(Home, "models", "hf--" + reference.Repository!.Replace("/", "--", StringComparison.Ordinal)),
        ModelSourceKind.Url => Path.Combine(Home, "models", "url--" + reference.Url!.Host),
        _ => throw new ArgumentException("a local path has no cache folder", nameof(reference)),
    };

    /// <summary>The snapshot folder of <paramref name="commit"/>.</summary>
    public string SnapshotDirectory(ModelReference reference, string commit) => Path.Combine(ModelDirectory(reference), "snapshots", commit);

    /// <summary>The commit a revision last resolved to, or null.</summary>
    public string? ReadRef(ModelReference reference)
    {
        var path = RepoPaths.Under(Path.Combine(ModelDirectory(reference), "refs"), reference.Revision, reference.Text);
        return File.Exists(path) ? File.ReadAllText(path).Trim() is { Length: > 0 } c && RepoPaths.IsSafe(c) && !c.Contains('/', StringComparison.Ordinal) ? c : null : null;
    }

    /// <summary>Records that the reference's revision resolved to <paramref name="commit"/>, and the reference's source.</summary>
    public void WriteRef(ModelReference reference, string commit)
    {
        var directory = ModelDirectory(reference);
        var path = RepoPaths.Under(Path.Combine(directory, "refs"), reference.Revision, reference.Text);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        WriteAtomically(path, commit);
        WriteAtomically(Path.Combine(directory, "source"), SourceOf(reference));
    }

    /// <summary>Links <paramref name="file"/> in the snapshot to the blob <paramref name="sha256"/> and returns the link's path.</summary>
    public string Link(ModelReference reference, string commit, string file, string sha256)
    {
        var snapshot = SnapshotDirectory(reference, commit);
        var path = RepoPaths.Under(snapshot, file, reference.Text);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var target = Path.GetRelativePath(Path.GetDirectoryName(path)!, BlobPath(sha256));
        if (new FileInfo(path).LinkTarget == target)
        {
            return path;
        }

        // Create beside it and rename over: a reader never sees a missing or half-made entry.
        var temporary = path + "." + Guid.NewGuid().ToString("N") + ".tmp";
        File.CreateSymbolicLink(temporary, target);
        File.Move(temporary, path, overwrite: true);
        WriteAtomically(Path.Combine(ModelDirectory(reference), "source"), SourceOf(reference));
        return path;
    }

    /// <summary>The sha256 recorded for a verified git blob, or null.</summary>
    public string? ReadGitBlobMap(string gitBlobId)
    {
        var path = Path.Combine(Home, "blobs", "git", gitBlobId);
        return File.Exists(path) && File.ReadAllText(path).Trim() is { Length: 64 } sha && sha.All(Uri.IsHexDigit) ? sha : null;
    }

    /// <summary>Records the sha256 of a verified git blob.</summary>
    public void WriteGitBlobMap(string gitBlobId, string sha256)
    {
        var path = Path.Combine(Home, "blobs", "git", gitBlobId);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        WriteAtomically(path, sha256);
    }

    /// <summary>Every cached snapshot with its files and sizes.</summary>
    public IReadOnlyList<CachedSnapshot> List()
    {
        var models = Path.Combine(Home, "models");
        var result = new List<CachedSnapshot>();
        if (!Directory.Exists(models))
        {
            return result;
        }

        foreach (var model in Directory.EnumerateDirectories(models).Order(StringComparer.Ordinal))
        {
            var sourceFile = Path.Combine(model, "source");
            var source = File.Exists(sourceFile) ? File.ReadAllText(sourceFile).Trim() : Path.GetFileName(model);
            var refs = Refs(model);
            var snapshots = Path.Combine(model, "snapshots");
            if (!Directory.Exists(snapshots))
            {
                continue;
            }

            foreach (var snapshot in Directory.EnumerateDirectories(snapshots).Order(StringComparer.Ordinal))
            {
                var commit = Path.GetFileName(snapshot);
                var files = Directory.EnumerateFiles(snapshot, "*", SearchOption.AllDirectories)
                    .Where(f => !f.EndsWith(".tmp", StringComparison.Ordinal))
                    .Select(f => (Path.GetRelativePath(snapshot, f).Replace('\\', '/'), FileSize(f)))
                    .OrderBy(f => f.Item1, StringComparer.Ordinal).ToList();
                result.Add(new CachedSnapshot(source, [.. refs.Where(r => r.Commit == commit).Select(r => r.Name)], commit, snapshot, files));
            }
        }

        return result;
    }

    /// <summary>
    /// Removes a Hub repository (every revision, or only <c>@revision</c>'s snapshot when one is given)
    /// or a URL's file from the cache, then deletes the blobs no snapshot links to any more.
    /// </summary>
    /// <returns>Bytes freed.</returns>
    /// <exception cref="ModelCacheException">The reference is not in the cache.</exception>
    public long Remove(ModelReference reference, bool revisionOnly)
    {
        var directory = ModelDirectory(reference);
        if (!Directory.Exists(directory))
        {
            throw new ModelCacheException($"{reference.Text} is not in the cache at {Home} (see `Mesh.Inference list`)");
        }

        if (reference.Kind == ModelSourceKind.Url)
        {
            Directory.Delete(SnapshotDirectory(reference, reference.Sha256!), recursive: true);
        }
        else if (revisionOnly)
        {
            var commit = ReadRef(reference) ?? (Directory.Exists(SnapshotDirectory(reference, reference.Revision)) ? reference.Revision : null)
                ?? throw new ModelCacheException($"{reference.Text}: revision {reference.Revision} is not in the cache");
            Directory.Delete(SnapshotDirectory(reference, commit), recursive: true);
            foreach (var (name, c) in Refs(directory).Where(r => r.Commit == commit))
            {
                File.Delete(Path.Combine(directory, "refs", name));
            }
        }
        else
        {
            Directory.Delete(directory, recursive: true);
        }

        return CollectGarbage();
    }

    /// <summary>Deletes blobs that no snapshot links to; returns the bytes freed.</summary>
    public long CollectGarbage()
    {
        var blobs = Path.Combine(Home, "blobs", "sha256");
        if (!Directory.Exists(blobs))
        {
            return 0;
        }

        var live = new HashSet<string>(StringComparer.Ordinal);
        var models = Path.Combine(Home, "models");
        if (Directory.Exists(models))
        {
            foreach (var link in Directory.EnumerateFiles(models, "*", SearchOption.AllDirectories))
            {
                if (new FileInfo(link).LinkTarget is { } target)
                {
                    live.Add(Path.GetFileName(target));
                }
            }
        }

        long freed = 0;
        foreach (var blob in Directory.EnumerateFiles(blobs))
        {
            var name = Path.GetFileName(blob);
            if (name.Length == 64 && !live.Contains(name))
            {
                freed += new FileInfo(blob).Length;
                File.Delete(blob);
            }
        }

        return freed;
    }

    /// <summary>The size of a file, following a symbolic link to its target; -1 when missing or dangling.</summary>
    public static long FileSize(string path)
    {
        var info = new FileInfo(path);
        if (info.LinkTarget is not null)
        {
            info = info.ResolveLinkTarget(returnFinalTarget: true) as FileInfo ?? info;
        }

        return info.Exists ? info.Length : -1;
    }

    private static List<(string Name, string Commit)> Refs(string model)
    {
        var refs = Path.Combine(model, "refs");
        return Directory.Exists(refs)
            ? [.. Directory.EnumerateFiles(refs, "*", SearchOption.AllDirectories).Select(f => (Path.GetRelativePath(refs, f).Replace('\\', '/'), File.ReadAllText(f).Trim()))]
            : [];
    }

    private static string SourceOf(ModelReference reference) =>
        reference.Kind == ModelSourceKind.HuggingFace ? "hf:" + reference.Repository : reference.Url!.GetLeftPart(UriPartial.Authority);

    private static void WriteAtomically(string path, string text)
    {
        var temporary = path + "." + Guid.NewGuid().ToString("N") + ".tmp";
        File.WriteAllText(temporary, text);
        File.Move(temporary, path, overwrite: true);
    }
}
