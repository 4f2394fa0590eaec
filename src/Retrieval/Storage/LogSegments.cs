using System.Globalization;
using Mesh.Retrieval.Storage.Records;

namespace Mesh.Retrieval.Storage;

/// <summary>
/// The write-ahead log of a collection as segments: the active <c>wal.log</c> that writers append to, and
/// sealed <c>wal-&lt;last sequence&gt;.log</c> files. When a snapshot is captured the active log is sealed
/// (renamed) and a new one started, so the snapshot can be written in the background while writes go on.
/// A sealed segment is deleted only once the snapshot before the newest one covers it: the log always holds
/// every record after the older of the two kept snapshots, so a damaged newest snapshot can be rebuilt.
/// </summary>
internal static class LogSegments
{
    public const string ActiveName = "wal.log";

    private const string SealedPrefix = "wal-";
    private const string SealedExtension = ".log";

    public static string SealedName(ulong lastSequence) =>
        SealedPrefix + lastSequence.ToString(CultureInfo.InvariantCulture) + SealedExtension;

    /// <summary>The sealed segments of a folder, oldest first, with the last sequence each covers.</summary>
    public static List<(ulong LastSequence, string Path)> Sealed(string folder) =>
        [.. Directory.EnumerateFiles(folder, SealedPrefix + "*" + SealedExtension)
            .Select(path => (Name: Path.GetFileName(path), Path: path))
            .Where(f => SnapshotFiles.IsSnapshotFileName(f.Name, SealedPrefix, SealedExtension))
            .Select(f => (ulong.Parse(f.Name.AsSpan(SealedPrefix.Length, f.Name.Length - SealedPrefix.Length - SealedExtension.Length), CultureInfo.InvariantCulture), f.Path))
            .OrderBy(f => f.Item1)];

    /// <summary>
    /// Every intact record of the sealed segments, oldest first (read-only: a sealed segment was fsynced
    /// before it was sealed, so damage there is reported by the sequence gap it leaves, not repaired).
    /// </summary>
    public static List<WalRecord> ReadSealed(string folder)
    {
        var records = new List<WalRecord>();
        foreach (var (_, path) in Sealed(folder))
        {
            records.AddRange(WriteAheadLog.ReadOnly(path));
        }
        return records;
    }

    /// <summary>
    /// Seals the active log as <c>wal-&lt;lastSequence&gt;.log</c> and returns a new, empty active log.
    /// A crash between the steps leaves the records in the sealed file and no active log, which opening
    /// creates again.
    /// </summary>
    public static WriteAheadLog Seal(WriteAheadLog active, string folder, ulong lastSequence)
    {
        active.Dispose();
        var activePath = Path.Combine(folder, ActiveName);
        File.Move(activePath, Path.Combine(folder, SealedName(lastSequence)), overwrite: false);
        var log = WriteAheadLog.Open(activePath, out _, out _);
        SnapshotFiles.SyncDirectory(folder);
        return log;
    }

    /// <summary>Deletes the sealed segments whose records all precede <paramref name="coveredSequence"/>.</summary>
    public static void DeleteCovered(string folder, ulong coveredSequence)
    {
        foreach (var (last, path) in Sealed(folder))
        {
            if (last <= coveredSequence)
            {
                File.Delete(path);
            }
        }
    }
}
