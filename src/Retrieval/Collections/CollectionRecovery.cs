using Mesh.Retrieval.Storage;
using Mesh.Retrieval.Storage.Records;

namespace Mesh.Retrieval.Collections;

/// <summary>What recovery rebuilt: the segment, the open active log, and the snapshot it started from.
/// <c>SealedThrough</c> is the last sequence already outside the active log (in a snapshot or a sealed segment).</summary>
internal sealed record RecoveredCollection(Segment Segment, WriteAheadLog Log, ulong LastSequence, ulong SealedThrough, SnapshotManifest? Snapshot, string? Damage, int Replayed);

/// <summary>
/// Rebuilds a collection from its folder, trusting nothing in it. It tries, in order, the manifest's
/// snapshot, the snapshot before it, and the empty collection, each followed by the log records after it;
/// the first that loads intact and replays a gap-free log at least as far as the manifest says is used, so
/// acknowledged writes are never silently lost. When the newest snapshot is damaged, <see cref="RecoveredCollection.Damage"/>
/// says which file and why (the caller snapshots again at once). When nothing restores it, the error names
/// the damaged file and what each fallback lacked.
/// </summary>
internal static class CollectionRecovery
{
    public static RecoveredCollection Recover(string folder, CollectionConfig config, RetrievalOptions options, int concurrency)
    {
        SnapshotManifest? manifest = null;
        var errors = new List<string>();
        try
        {
            manifest = SnapshotFiles.ReadMessage(Path.Combine(folder, SnapshotFiles.ManifestName), SnapshotManifest.Parser);
        }
        catch (InvalidDataException exception)
        {
            errors.Add(exception.Message);
        }
        var log = WriteAheadLog.Open(Path.Combine(folder, LogSegments.ActiveName), out var active, out _);
        try
        {
            var records = LogSegments.ReadSealed(folder);
            records.AddRange(active);
            records.Sort((a, b) => a.Sequence.CompareTo(b.Sequence));
            // The manifest promises this much: a fallback that replays less would lose acknowledged writes.
            var promised = manifest?.LastSequence ?? 0;
            SnapshotManifest?[] bases = manifest is null ? [null] : manifest.Previous is null ? [manifest, null] : [manifest, manifest.Previous, null];
            foreach (var snapshot in bases)
            {
                Segment? segment = null;
                try
                {
                    segment = snapshot is null
                        ? Segment.Create(config, concurrency, options.ExactSearchThreshold)
                        : Load(folder, config, options, concurrency, snapshot);
                    var (last, replayed) = Replay(segment, records, snapshot);
                    if (last < promised)
                    {
                        throw new InvalidDataException(
                            $"{Describe(snapshot)} and the log reach sequence {last}, but the manifest covers up to {promised}; the log records in between are gone.");
                    }
                    var sealedThrough = Math.Max(snapshot?.LastSequence ?? 0, LogSegments.Sealed(folder).Select(s => s.LastSequence).DefaultIfEmpty(0UL).Max());
                    return new RecoveredCollection(segment, log, last, sealedThrough, snapshot, errors.Count > 0 ? errors[0] : null, replayed);
                }
                catch (Exception exception) when (exception is not OutOfMemoryException)
                {
                    segment?.Dispose();
                    errors.Add(exception.Message);
                }
            }
            throw new InvalidDataException(string.Join(" Fallback: ", errors));
        }
        catch
        {
            log.Dispose();
            throw;
        }
    }

    private static Segment Load(string folder, CollectionConfig config, RetrievalOptions options, int concurrency, SnapshotManifest snapshot)
    {
        // The file names carry the sequence they cover: a manifest whose fields disagree is damaged (a
        // changed last_sequence would otherwise skip or re-apply log records silently).
        if (snapshot.PointsFile != $"points-{snapshot.LastSequence}.dat" || snapshot.IndexFile != $"index-{snapshot.LastSequence}.usearch")
        {
            throw new InvalidDataException($"The snapshot manifest in {folder} is damaged: it names \"{snapshot.PointsFile}\" and \"{snapshot.IndexFile}\" for sequence {snapshot.LastSequence}.");
        }
        var indexPath = Path.Combine(folder, snapshot.IndexFile);
        var points = SnapshotFiles.ReadPoints(Path.Combine(folder, snapshot.PointsFile), snapshot.Points);
        if (snapshot.HasIndexCrc32)
        {
            SnapshotFiles.VerifyIndex(indexPath, snapshot.IndexCrc32);
        }
        return Segment.Load(config, concurrency, options.ExactSearchThreshold, points, snapshot.NextKey, indexPath);
    }

    private static (ulong Last, int Replayed) Replay(Segment segment, List<WalRecord> records, SnapshotManifest? snapshot)
    {
        var last = snapshot?.LastSequence ?? 0;
        var replayed = 0;
        foreach (var record in records)
        {
            if (record.Sequence <= last)
            {
                continue; // already in the snapshot (or a record sealed twice by an interrupted snapshot)
            }
            if (record.Sequence != last + 1)
            {
                throw new InvalidDataException($"The log jumps from sequence {last} to {record.Sequence} after {Describe(snapshot)}: records are missing.");
            }
            segment.Apply(record);
            last = record.Sequence;
            replayed++;
        }
        return (last, replayed);
    }

    private static string Describe(SnapshotManifest? snapshot) =>
        snapshot is null ? "the empty collection" : $"the snapshot {snapshot.PointsFile} (sequence {snapshot.LastSequence})";
}
