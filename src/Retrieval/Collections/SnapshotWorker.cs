using System.Diagnostics;
using Mesh.Retrieval.Storage;
using Mesh.Retrieval.Storage.Records;

namespace Mesh.Retrieval.Collections;

/// <summary>
/// Test seam of the snapshot writer: <see cref="BeforeManifest"/> runs after a snapshot's data files are
/// durable and before its manifest is renamed into place (the moment a crash leaves the previous snapshot
/// in force). A single instance is registered in the host; production leaves it empty.
/// </summary>
internal sealed class SnapshotHooks
{
    /// <summary>Called with the collection folder; a returned task holds the snapshot until it completes.</summary>
    public Func<string, Task>? BeforeManifest { get; set; }
}

/// <summary>
/// The background flush worker of one collection (Qdrant flushes segments in background workers too).
/// A writer that pushes the log past <c>SnapshotAfterLogBytes</c> only captures a point-in-time image
/// (records, key counter, the index copied into memory) and seals the log segment; this worker writes the
/// points file, the index file and then the manifest, while writes go on. One snapshot at a time; while one
/// runs, later writes do not queue another (they trigger one once it is done, if the log is still large).
/// </summary>
internal sealed class SnapshotWorker(string folder, SnapshotHooks hooks, ILogger logger, string name)
{
    private readonly object _gate = new();
    private Task _running = Task.CompletedTask;

    /// <summary>The manifest of the newest snapshot written (null before the first).</summary>
    public SnapshotManifest? Current { get; private set; }

    /// <summary>True while a snapshot is being written.</summary>
    public bool Busy
    {
        get
        {
            lock (_gate)
            {
                return !_running.IsCompleted;
            }
        }
    }

    /// <summary>Sets the snapshot recovery started from.</summary>
    public void Restore(SnapshotManifest? current) => Current = current;

    /// <summary>
    /// Queues <paramref name="image"/> (taken at <paramref name="sequence"/>) to be written after the snapshot
    /// in progress, if any, and returns the task writing it; the worker owns the image. Call it under the
    /// collection's writer lock, so snapshots are queued in sequence order.
    /// </summary>
    public Task Enqueue(SegmentImage image, ulong sequence)
    {
        lock (_gate)
        {
            var previous = _running;
            return _running = Task.Run(async () =>
            {
                await previous.ConfigureAwait(false);
                await WriteAsync(image, sequence).ConfigureAwait(false);
            });
        }
    }

    /// <summary>Completes when no snapshot is being written (failures are logged, not thrown).</summary>
    public Task WhenIdleAsync()
    {
        lock (_gate)
        {
            return _running;
        }
    }

    private async Task WriteAsync(SegmentImage image, ulong sequence)
    {
        try
        {
            if (sequence <= (Current?.LastSequence ?? 0))
            {
                return; // a newer snapshot is already in place
            }
            var clock = Stopwatch.StartNew();
            var previous = Current;
            var manifest = await WriteFilesAsync(image, sequence, previous).ConfigureAwait(false);
            Current = manifest;
            logger.LogInformation("Collection {Collection}: snapshot of {Points} points at sequence {Sequence} in {ElapsedMs} ms (in the background)",
                name, image.Points.Count, sequence, clock.ElapsedMilliseconds);
        }
        catch (Exception exception)
        {
            // The sealed log segments still hold every record, so nothing acknowledged is lost; a later
            // write past the threshold (or shutdown) tries again.
            logger.LogError(exception, "Collection {Collection}: snapshot at sequence {Sequence} failed", name, sequence);
        }
        finally
        {
            image.Dispose();
        }
    }

    private async Task<SnapshotManifest> WriteFilesAsync(SegmentImage image, ulong sequence, SnapshotManifest? previous)
    {
        var pointsFile = $"points-{sequence}.dat";
        var indexFile = $"index-{sequence}.usearch";
        SnapshotFiles.WritePoints(Path.Combine(folder, pointsFile), image.Points.Select(p =>
        {
            var stored = new StoredPoint { Key = p.Key, Id = p.Id.ToPointId(), Payload = p.Payload, Text = p.Text };
            stored.Vector.Add(p.Vector);
            return stored;
        }));
        var crc = SnapshotFiles.WriteIndex(Path.Combine(folder, indexFile), image.Index);
        if (hooks.BeforeManifest is { } hook)
        {
            await hook(folder).ConfigureAwait(false);
        }
        var manifest = new SnapshotManifest
        {
            LastSequence = sequence,
            NextKey = image.NextKey,
            Points = (ulong)image.Points.Count,
            PointsFile = pointsFile,
            IndexFile = indexFile,
            IndexCrc32 = crc,
        };
        if (previous is not null)
        {
            manifest.Previous = previous.Clone();
            manifest.Previous.Previous = null;
        }
        SnapshotFiles.WriteAtomically(Path.Combine(folder, SnapshotFiles.ManifestName), manifest);
        // Keep the previous snapshot and the log after it (a damaged newest snapshot is rebuilt from them).
        LogSegments.DeleteCovered(folder, previous?.LastSequence ?? 0);
        var kept = new HashSet<string>(StringComparer.Ordinal) { pointsFile, indexFile, previous?.PointsFile ?? "", previous?.IndexFile ?? "" };
        foreach (var path in Directory.EnumerateFiles(folder))
        {
            var file = Path.GetFileName(path);
            if (!kept.Contains(file)
                && (SnapshotFiles.IsSnapshotFileName(file, "points-", ".dat") || SnapshotFiles.IsSnapshotFileName(file, "index-", ".usearch")))
            {
                File.Delete(path);
            }
        }
        return manifest;
    }
}
