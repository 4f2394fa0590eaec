using Google.Protobuf;
using Mesh.Retrieval.Storage.Records;

namespace Mesh.Retrieval.Storage;

/// <summary>
/// Snapshot files of a collection: the points (framed, checksummed <see cref="StoredPoint"/> records), the
/// USearch index file, and the manifest that names both and the log position they cover. The manifest is
/// written last, through a temporary file and an atomic rename, so a crash mid-snapshot leaves the
/// previous snapshot in force.
/// </summary>
internal static class SnapshotFiles
{
    public const string ManifestName = "snapshot.manifest";
    private static readonly byte[] PointsMagic = "MESHPTS1"u8.ToArray();

    public static void WritePoints(string path, IEnumerable<StoredPoint> points)
    {
        using var file = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20);
        RecordFraming.WriteMagic(file, PointsMagic);
        foreach (var point in points)
        {
            RecordFraming.WriteRecord(file, point);
        }
        file.Flush(flushToDisk: true);
    }

    public static List<StoredPoint> ReadPoints(string path, ulong expected)
    {
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20);
        var points = RecordFraming.ReadRecords(file, PointsMagic, StoredPoint.Parser, out var valid);
        if ((ulong)points.Count != expected || valid != file.Length)
        {
            throw new InvalidDataException($"The snapshot points file {path} is damaged: {points.Count} intact points of {expected}.");
        }
        return points;
    }

    /// <summary>Flushes a file another writer (the native index) produced.</summary>
    public static void Sync(string path)
    {
        using var file = new FileStream(path, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite);
        file.Flush(flushToDisk: true);
    }

    public static void WriteAtomically(string path, IMessage message)
    {
        var temporary = path + ".tmp";
        using (var file = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            message.WriteTo(file);
            file.Flush(flushToDisk: true);
        }
        File.Move(temporary, path, overwrite: true);
        SyncDirectory(Path.GetDirectoryName(path)!);
    }

    public static T? ReadMessage<T>(string path, MessageParser<T> parser)
        where T : class, IMessage<T>
    {
        if (!File.Exists(path))
        {
            return null;
        }
        using var file = File.OpenRead(path);
        return parser.ParseFrom(file);
    }

    /// <summary>Makes a rename durable: on Linux the directory entry needs its own fsync.</summary>
    public static void SyncDirectory(string directory)
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }
        try
        {
            using var handle = File.OpenHandle(directory, FileMode.Open, FileAccess.Read);
            RandomAccess.FlushToDisk(handle);
        }
        catch (UnauthorizedAccessException)
        {
            // Some file systems refuse to open directories; the rename is still ordered after the data.
        }
        catch (IOException)
        {
        }
    }
}
