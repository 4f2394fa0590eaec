using System.IO.Hashing;
using Google.Protobuf;
using Mesh.Retrieval.Native;
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

    /// <summary>Largest manifest or definition file read (they hold a few hundred bytes).</summary>
    public const int MaxMessageFileBytes = 1 << 20;
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
            throw new InvalidDataException($"The snapshot points file {path} is damaged: {points.Count} intact points of {expected}, {valid} intact bytes of {file.Length}.");
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

    /// <summary>Reads a small whole-file message; a damaged file is <see cref="InvalidDataException"/> naming it.</summary>
    public static T? ReadMessage<T>(string path, MessageParser<T> parser)
        where T : class, IMessage<T>
    {
        if (!File.Exists(path))
        {
            return null;
        }
        using var file = File.OpenRead(path);
        if (file.Length > MaxMessageFileBytes)
        {
            throw new InvalidDataException($"{path} is damaged: {file.Length} bytes, more than a {typeof(T).Name} ever takes.");
        }
        try
        {
            return parser.ParseFrom(file);
        }
        catch (InvalidProtocolBufferException exception)
        {
            throw new InvalidDataException($"{path} is damaged: {exception.Message}", exception);
        }
    }

    /// <summary>Writes an index image and makes it durable; returns its CRC-32 for the manifest.</summary>
    public static uint WriteIndex(string path, NativeBuffer image)
    {
        var crc = new Crc32();
        using (var source = image.OpenRead())
        using (var file = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20))
        {
            var chunk = new byte[1 << 20];
            int read;
            while ((read = source.Read(chunk)) > 0)
            {
                crc.Append(chunk.AsSpan(0, read));
                file.Write(chunk, 0, read);
            }
            file.Flush(flushToDisk: true);
        }
        return crc.GetCurrentHashAsUInt32();
    }

    /// <summary>Refuses an index file whose CRC-32 is not the one its manifest recorded.</summary>
    public static void VerifyIndex(string path, uint expected)
    {
        var crc = new Crc32();
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20);
        crc.Append(file);
        var actual = crc.GetCurrentHashAsUInt32();
        if (actual != expected)
        {
            throw new InvalidDataException($"The snapshot index file {path} is damaged: CRC-32 {actual:x8}, its manifest recorded {expected:x8}.");
        }
    }

    /// <summary>
    /// A file name a manifest may name: only the snapshot files this service writes, so a damaged or
    /// crafted manifest can never point outside the collection folder.
    /// </summary>
    public static bool IsSnapshotFileName(string name, string prefix, string extension) =>
        name.StartsWith(prefix, StringComparison.Ordinal) && name.EndsWith(extension, StringComparison.Ordinal)
        && ulong.TryParse(name.AsSpan(prefix.Length, name.Length - prefix.Length - extension.Length), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out _);

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
